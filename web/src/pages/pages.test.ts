import { describe, expect, it } from 'vitest';
import { parseTemplate } from './admin/AltEditor';
import { stepForField, STEPS } from './admin/CreateServerPage';
import { parseEgg } from './admin/TemplatesPage';

describe('egg and template parsing', () => {
  it('sends JSON eggs as objects and YAML as text', () => {
    expect(parseEgg(' {"name":"X"} ')).toEqual({ name: 'X' });
    expect(parseEgg('name: X\nstartup: ./run')).toBe('name: X\nstartup: ./run');
    expect(parseEgg('{ broken')).toBe('{ broken');
  });

  it('accepts only a JSON object as a template', () => {
    expect(parseTemplate('{"name":"A"}')).toEqual({ template: { name: 'A' } });
    expect(parseTemplate('[1]')).toEqual({ error: 'The template must be a JSON object.' });
    expect('error' in parseTemplate('{nope')).toBe(true);
  });
});

describe('create-server wizard', () => {
  it('sends validation errors back to the step that owns the field', () => {
    expect(STEPS[stepForField('altId')]).toBe('Template');
    expect(STEPS[stepForField('nodeId')]).toBe('Node');
    expect(STEPS[stepForField('limits.memoryMb')]).toBe('Resources');
    expect(STEPS[stepForField('name')]).toBe('Resources');
    expect(STEPS[stepForField('variables.SERVER_PORT')]).toBe('Variables');
  });
});

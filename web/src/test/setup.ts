import { afterEach } from 'vitest';

// Testing Library unmounts automatically only when test globals are enabled; they are not.
afterEach(async () => {
  if (typeof document !== 'undefined') {
    const { cleanup } = await import('@testing-library/react');
    cleanup();
  }
});

import { useEffect, useRef } from 'react';
import { EditorView, basicSetup } from 'codemirror';
import { EditorState, type Extension } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { json } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { oneDark } from '@codemirror/theme-one-dark';

function languageFor(path: string): Extension[] {
  const lower = path.toLowerCase();
  if (/\.(json|json5|mcmeta)$/.test(lower)) return [json()];
  if (/\.(ya?ml)$/.test(lower)) return [yaml()];
  return [];
}

/** CodeMirror 6 editor; `path` picks the language and labels the content. `onChange` gets
 * the full text; Ctrl/Cmd+S calls `onSave`. */
export default function CodeEditor({
  path,
  initial,
  onChange,
  onSave,
  readOnly,
}: {
  path: string;
  initial: string;
  onChange: (text: string) => void;
  onSave: () => void;
  readOnly: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const handlers = useRef({ onChange, onSave });
  handlers.current = { onChange, onSave };

  useEffect(() => {
    if (!host.current) return;
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          basicSetup,
          oneDark,
          ...languageFor(path),
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ 'aria-label': `Contents of ${path}` }),
          keymap.of([
            {
              key: 'Mod-s',
              preventDefault: true,
              run: () => {
                handlers.current.onSave();
                return true;
              },
            },
          ]),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) handlers.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.destroy();
  }, [path, initial, readOnly]);

  return <div className="editor-box" ref={host} data-testid="code-editor" />;
}

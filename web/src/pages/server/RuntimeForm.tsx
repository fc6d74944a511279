import { useState } from 'react';
import { api, type Server } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { useAction } from '../../lib/useApi';

const NATIVE = '';

/** The runtime a server runs on: natively, or in one of its template's Docker images. */
export function RuntimeForm({
  server,
  images,
  onSaved,
}: {
  server: Server;
  images: { label: string; image: string }[];
  onSaved: () => void;
}) {
  const current = server.runtime === 'docker' && server.image ? server.image : NATIVE;
  const [choice, setChoice] = useState(current);
  // What was saved last (the server's own fields catch up when it is reloaded).
  const [saved, setSaved] = useState<string | null>(null);
  const effective = saved ?? current;
  const save = useAction();
  return (
    <form
      className="field"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run(async () => {
          await api.servers.update(server.id, choice === NATIVE ? { runtime: 'native' } : { runtime: 'docker', image: choice });
          setSaved(choice);
          onSaved();
        });
      }}
    >
      <label htmlFor="runtime-choice">Runtime</label>
      <ErrorMessage error={save.error} />
      <div className="btn-group">
        <select id="runtime-choice" value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value={NATIVE}>Native process on the node</option>
          {images.map((i) => (
            <option key={i.image} value={i.image}>
              Docker: {i.label} ({i.image})
            </option>
          ))}
        </select>
        <button type="submit" className="btn" disabled={choice === effective || save.busy}>
          {save.busy ? 'Saving…' : 'Change runtime'}
        </button>
      </div>
      {saved !== null && choice === saved && (
        <div className="alert alert-success" role="status">
          Saved. The server runs this way from its next start.
        </div>
      )}
    </form>
  );
}

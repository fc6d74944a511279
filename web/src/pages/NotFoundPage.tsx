import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p className="muted">
        There is nothing at this address. <Link to="/">Back to your servers</Link>.
      </p>
    </section>
  );
}

// Account page: who is logged in and the API token for scripts (Authorization: Token <key>).

import { useEffect, useState } from "preact/hooks";
import { api, type User } from "../lib/api";
import { Message, Spinner } from "../components";

export function AccountPage(props: { user: User }) {
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState(false);

  useEffect(() => {
    api.get<{ token: string }>("/api/current-user/token").then((t) => setToken(t.token), (e) => setError(e.message));
  }, []);

  return (
    <div class="page narrow">
      <h1>Account</h1>
      <dl class="facts">
        <dt>Email</dt>
        <dd>{props.user.email}</dd>
        <dt>User id</dt>
        <dd>{props.user.id}</dd>
      </dl>
      <h2>API token</h2>
      <p class="hint">
        Scripts and the Label Studio SDK authenticate with the header <code>Authorization: Token &lt;token&gt;</code>.
      </p>
      {error && <Message kind="error">{error}</Message>}
      {token === null && !error && <Spinner label="Loading token…" />}
      {token !== null && (
        <div class="token-row">
          <input class="mono" readOnly value={shown ? token : "•".repeat(Math.min(40, token.length))} data-testid="api-token" />
          <button onClick={() => setShown(!shown)}>{shown ? "Hide" : "Show"}</button>
          <button onClick={() => navigator.clipboard?.writeText(token)}>Copy</button>
        </div>
      )}
    </div>
  );
}

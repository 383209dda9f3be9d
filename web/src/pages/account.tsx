// Account page: who is logged in, the API token for scripts (Authorization: Token <key>) and a form
// to change one's own password (POST /api/current-user/password).

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type User } from "../lib/api";
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
      <PasswordForm />
    </div>
  );
}

function PasswordForm() {
  const [old, setOld] = useState("");
  const [pw, setPw] = useState("");
  const [again, setAgain] = useState("");
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const mismatch = again.length > 0 && again !== pw;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setFields({});
    setDone(false);
    try {
      await api.post("/api/current-user/password", { old_password: old, new_password: pw });
      setDone(true);
      setOld("");
      setPw("");
      setAgain("");
    } catch (err) {
      const ae = err as ApiError;
      setFields(Object.keys(ae.validation).length ? ae.validation : { new_password: [ae.message] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={submit}>
      <h2>Change password</h2>
      <label>
        Current password
        <input name="old-password" type="password" value={old} onInput={(e) => setOld(e.currentTarget.value)} required autoComplete="current-password" />
        {fields.old_password && <span class="field-error">{fields.old_password.join("; ")}</span>}
      </label>
      <label>
        New password (at least 8 characters)
        <input name="new-password" type="password" value={pw} onInput={(e) => setPw(e.currentTarget.value)} minLength={8} required autoComplete="new-password" />
        {fields.new_password && <span class="field-error">{fields.new_password.join("; ")}</span>}
      </label>
      <label>
        New password again
        <input name="new-password-again" type="password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} required autoComplete="new-password" />
        {mismatch && <span class="field-error">the two new passwords differ</span>}
      </label>
      {done && <Message kind="ok">Password changed.</Message>}
      <div class="buttons">
        <span class="grow" />
        <button class="primary" type="submit" disabled={busy || mismatch}>
          {busy ? <Spinner label="Saving…" /> : "Change password"}
        </button>
      </div>
    </form>
  );
}

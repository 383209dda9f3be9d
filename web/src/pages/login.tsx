// Login form: POST /api/auth/login sets the HttpOnly session cookie.

import { useState } from "preact/hooks";
import { api, ApiError, type User } from "../lib/api";
import { Message, Spinner } from "../components";

export function LoginPage(props: { expired: boolean; onLogin: (u: User) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post("/api/auth/login", { email, password }, { quiet401: true });
      props.onLogin(await api.get<User>("/api/current-user/whoami", { quiet401: true }));
    } catch (err) {
      const ae = err as ApiError;
      setError(ae.status === 401 || ae.status === 400 || ae.status === 403 ? "Wrong email or password." : ae.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>labelloop</h1>
        {props.expired && <Message kind="warn">Your session has expired. Log in again to continue; unsaved boxes are kept as a local draft.</Message>}
        {error && <Message kind="error">{error}</Message>}
        <label>
          Email
          <input name="email" type="email" autoComplete="username" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        <button class="primary" type="submit" disabled={busy}>
          {busy ? <Spinner label="Logging in…" /> : "Log in"}
        </button>
      </form>
    </div>
  );
}

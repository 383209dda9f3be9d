// Users page: everyone who can log in (GET /api/users), and for administrators a form that creates
// a user with a password (POST /api/users). Passwords are changed by their owner on the account
// page, or reset with `labelloop user reset-password` on the server.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type User } from "../lib/api";
import { Message, Spinner } from "../components";

interface ListedUser extends User {
  is_superuser?: boolean;
  date_joined?: string;
  last_activity?: string;
}

export function UsersPage(props: { user: User & { is_superuser?: boolean } }) {
  const [users, setUsers] = useState<ListedUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = () => api.get<ListedUser[]>("/api/users").then(setUsers, (e) => setError((e as Error).message));
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFields({});
    setCreated(null);
    try {
      const u = await api.post<ListedUser>("/api/users", { email: email.trim(), password });
      setCreated(u.email);
      setEmail("");
      setPassword("");
      void load();
    } catch (err) {
      const ae = err as ApiError;
      setFields(Object.keys(ae.validation).length ? ae.validation : { email: [ae.message] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page narrow">
      <h1>Users</h1>
      {error && <Message kind="error">{error}</Message>}
      {!users && !error && <Spinner label="Loading users…" />}
      {users && (
        <table class="grid" data-testid="users">
          <thead>
            <tr>
              <th>Id</th>
              <th>Email</th>
              <th>Role</th>
              <th>Joined</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-user-email={u.email}>
                <td class="num">{u.id}</td>
                <td>{u.email}</td>
                <td>{u.is_superuser ? "administrator" : "annotator"}</td>
                <td class="muted">{u.date_joined ? new Date(u.date_joined).toLocaleDateString() : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.user.is_superuser ? (
        <form class="form" onSubmit={create}>
          <h2>New user</h2>
          <label>
            Email
            <input name="new-email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required />
            {fields.email && <span class="field-error">{fields.email.join("; ")}</span>}
          </label>
          <label>
            Password (at least 8 characters)
            <input name="new-password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} minLength={8} required autoComplete="new-password" />
            {fields.password && <span class="field-error">{fields.password.join("; ")}</span>}
          </label>
          {created && <Message kind="ok">Created {created}; they can log in with this password now.</Message>}
          <div class="buttons">
            <span class="grow" />
            <button class="primary" type="submit" disabled={busy}>
              {busy ? <Spinner label="Creating…" /> : "Create user"}
            </button>
          </div>
        </form>
      ) : (
        <p class="hint">Only an administrator can add users.</p>
      )}
    </div>
  );
}

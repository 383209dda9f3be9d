// Entry point: session check, header, and the route table of the single-page app.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, onUnauthorized, type User } from "./lib/api";
import { match, navigate, useLocation } from "./lib/router";
import { Link, Spinner } from "./components";
import { LoginPage } from "./pages/login";
import { AccountPage } from "./pages/account";
import { UsersPage } from "./pages/users";
import { ProjectsPage } from "./pages/projects";
import { ProjectFormPage } from "./pages/project-form";
import { ProjectPage } from "./pages/project";
import { EditorPage } from "./editor/editor-page";
import "./styles.css";

type Route = { pattern: string; view: (p: Record<string, string>, user: User) => preact.JSX.Element };

const ROUTES: Route[] = [
  { pattern: "/projects", view: () => <ProjectsPage /> },
  { pattern: "/projects/new", view: () => <ProjectFormPage /> },
  { pattern: "/projects/:id", view: (p) => <ProjectPage id={Number(p.id)} /> },
  { pattern: "/projects/:id/settings", view: (p) => <ProjectFormPage id={Number(p.id)} /> },
  { pattern: "/projects/:id/label", view: (p) => <EditorPage projectId={Number(p.id)} taskId={null} /> },
  { pattern: "/projects/:id/tasks/:task", view: (p) => <EditorPage projectId={Number(p.id)} taskId={Number(p.task)} /> },
  { pattern: "/account", view: (_p, u) => <AccountPage user={u} /> },
  { pattern: "/users", view: (_p, u) => <UsersPage user={u} /> },
];

function Header(props: { user: User; onLogout: () => void }) {
  return (
    <header class="top">
      <Link href="/projects" class="brand">
        labelloop
      </Link>
      <nav>
        <Link href="/projects">Projects</Link>
        <Link href="/users">Users</Link>
      </nav>
      <span class="grow" />
      <Link href="/account" class="user" title="Account and API token">
        {props.user.email}
      </Link>
      <button class="link" onClick={props.onLogout}>
        Log out
      </button>
    </header>
  );
}

function App() {
  const path = useLocation();
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    api.get<User>("/api/current-user/whoami", { quiet401: true }).then(setUser, () => setUser(null));
    return onUnauthorized(() => {
      setUser((u) => {
        if (u) setExpired(true);
        return null;
      });
    });
  }, []);

  if (user === undefined) return <div class="center"><Spinner label="Loading…" /></div>;
  if (user === null) {
    return (
      <LoginPage
        expired={expired}
        onLogin={(u) => {
          setExpired(false);
          setUser(u);
          if (path === "/" || path === "/login") navigate("/projects", true);
        }}
      />
    );
  }
  const logout = async () => {
    await api.post("/api/auth/logout").catch(() => undefined);
    setUser(null);
    navigate("/projects", true);
  };
  let page: preact.JSX.Element | null = null;
  for (const r of ROUTES) {
    const m = match(r.pattern, path);
    if (m) {
      page = r.view(m, user);
      break;
    }
  }
  if (!page) {
    if (path === "/" || path === "/login") navigate("/projects", true);
    page = path === "/" || path === "/login" ? <ProjectsPage /> : <div class="page"><h1>Not found</h1><p><Link href="/projects">Back to projects</Link></p></div>;
  }
  return (
    <div class="app">
      <Header user={user} onLogout={logout} />
      <main>{page}</main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);

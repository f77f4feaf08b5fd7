import { useCallback, useEffect, useState } from 'react';
import { api, setUnauthorizedHandler, type Operator } from './api.js';
import { Dashboard } from './dashboard.js';
import { Login } from './components/login.js';

/** Checks the session once, then shows the login screen or the dashboard. */
export function App() {
  // undefined: still asking the server who we are.
  const [me, setMe] = useState<Operator | null | undefined>(undefined);

  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    api.me().then(
      (r) => setMe(r.operator),
      () => setMe(null),
    );
  }, []);

  const logOut = useCallback(() => {
    api.logout().finally(() => setMe(null));
  }, []);

  if (me === undefined) return <div className="splash">Loading…</div>;
  if (me === null) return <Login onLoggedIn={setMe} />;
  return <Dashboard me={me} onLogOut={logOut} />;
}

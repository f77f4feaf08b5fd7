import { useState, type FormEvent } from 'react';
import { api, ApiError, type Operator } from '../api.js';

export function Login({ onLoggedIn }: { onLoggedIn(operator: Operator): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { operator } = await api.login(email, password);
      onLoggedIn(operator);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_credentials') setError('Wrong email or password.');
      else if (err instanceof ApiError && err.code === 'rate_limited') setError('Too many attempts. Try again in a minute.');
      else setError(err instanceof Error ? err.message : 'Login failed.');
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit}>
        <h1>Switchboard</h1>
        <p className="muted">Operator sign-in</p>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={isBusy}>
          {isBusy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

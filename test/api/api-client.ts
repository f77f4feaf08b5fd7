import { TEST_SECRETS } from '../support/app.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Credentials {
  cookie?: string;
  token?: string;
}

/** A small HTTP client for the real server: JSON in, JSON out, session cookie or bearer token. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly credentials: Credentials = {},
  ) {}

  async request<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.credentials.cookie) headers.cookie = this.credentials.cookie;
    if (this.credentials.token) headers.authorization = `Bearer ${this.credentials.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    } else if (method !== 'GET' && method !== 'HEAD') {
      headers['x-requested-with'] ??= 'test';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { body, headers });
  }

  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, { body });
  }
}

/** Logs in and returns a client carrying the session cookie. */
export async function loginAs(baseUrl: string, email: string, password: string): Promise<ApiClient> {
  const res = await new ApiClient(baseUrl).post('/api/auth/login', { email, password });
  if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return new ApiClient(baseUrl, { cookie });
}

export function loginAdmin(baseUrl: string): Promise<ApiClient> {
  return loginAs(baseUrl, TEST_SECRETS.ADMIN_EMAIL, TEST_SECRETS.ADMIN_PASSWORD);
}

/** Creates an operator through the admin API and logs them in. */
export async function createOperator(
  admin: ApiClient,
  email: string,
  name: string,
  role: 'admin' | 'operator' = 'operator',
): Promise<{ client: ApiClient; id: string; password: string }> {
  const password = `pw-${email}-secret`;
  const res = await admin.post('/api/operators', { email, name, role, password });
  if (res.status !== 201) throw new Error(`create ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return { client: await loginAs(admin.baseUrl, email, password), id: res.body.operator.id, password };
}

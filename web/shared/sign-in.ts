// "Sign in as": outside production, while the development secret is in use, the gateway mints a
// development token for a tenant and persona (POST /dev/token). Elsewhere a bearer token is pasted.
import { claimsOf, storedToken, storeToken } from './session';

interface DevTokenOptions {
  tenants: string[];
  personas: string[];
}

const element = <K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
};

async function devTokenOptions(): Promise<DevTokenOptions | undefined> {
  const response = await fetch('/dev/token', { headers: { Accept: 'application/json' } }).catch(() => undefined);
  return response?.ok ? ((await response.json()) as DevTokenOptions) : undefined;
}

async function mintDevToken(tenant: string, persona: string): Promise<string> {
  const response = await fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tenant, persona }) });
  const body = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !body.token) throw new Error(body.message ?? `The gateway answered ${response.status}.`);
  return body.token;
}

/**
 * Renders the sign-in control into `container` and calls `onToken` with the token in use: the stored
 * one at once (if any and not expired), then whenever the person signs in or out.
 */
export async function mountSignIn(container: HTMLElement, onToken: (token: string | undefined) => void): Promise<void> {
  const dev = await devTokenOptions();
  const form = element('form', { class: 'sign-in', 'aria-label': 'Sign in' });
  const identity = element('span', { class: 'identity', 'data-testid': 'identity', role: 'status' });
  const problem = element('span', { class: 'problem', role: 'alert' });
  const signOut = element('button', { type: 'button', class: 'secondary' }, 'Sign out');
  let read: () => Promise<string>;

  if (dev) {
    const tenant = element('input', {
      id: 'sign-in-tenant',
      name: 'tenant',
      list: 'sign-in-tenants',
      required: '',
      pattern: '[A-Za-z0-9_-]{1,64}',
      size: '10',
      autocomplete: 'off',
    });
    tenant.value = dev.tenants[0] ?? '';
    const tenants = element('datalist', { id: 'sign-in-tenants' });
    for (const id of dev.tenants) tenants.append(element('option', { value: id }));
    const persona = element('select', { id: 'sign-in-persona', name: 'persona' });
    for (const name of dev.personas) persona.append(element('option', { value: name }, name));
    form.append(
      element('label', { for: 'sign-in-tenant' }, 'Tenant'),
      tenant,
      tenants,
      element('label', { for: 'sign-in-persona' }, 'Persona'),
      persona,
      element('button', { type: 'submit' }, 'Sign in as'),
    );
    form.title = 'Development tokens: minted by the gateway while it uses the development secret.';
    read = () => mintDevToken(tenant.value.trim(), persona.value);
  } else {
    const token = element('input', {
      id: 'sign-in-token',
      name: 'token',
      type: 'password',
      required: '',
      size: '24',
      autocomplete: 'off',
      placeholder: 'eyJ…',
    });
    form.append(element('label', { for: 'sign-in-token' }, 'Bearer token'), token, element('button', { type: 'submit' }, 'Use token'));
    read = async () => token.value.trim().replace(/^Bearer\s+/i, '');
  }
  form.append(identity, signOut, problem);
  container.replaceChildren(form);

  const show = (token: string | undefined) => {
    const claims = token ? claimsOf(token) : {};
    identity.textContent = token ? `${claims.tenant ?? '?'} · ${claims.persona ?? '?'} · ${claims.sub ?? '?'}` : 'Not signed in';
    identity.title = token ? 'Signed in: tenant · persona · subject of the token in use' : '';
    signOut.hidden = !token;
  };
  const use = (token: string | undefined) => {
    storeToken(token);
    show(token);
    onToken(token);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.textContent = '';
    read().then(use, (error: Error) => (problem.textContent = error.message));
  });
  signOut.addEventListener('click', () => use(undefined));
  use(storedToken());
}

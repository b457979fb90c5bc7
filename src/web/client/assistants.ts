import { ui } from './view.js';

interface Listing {
  assistants: Array<{ name: string; greeting?: string }>;
  default?: string;
}

function isListing(value: unknown): value is Listing {
  if (typeof value !== 'object' || value === null) return false;
  const list = (value as { assistants?: unknown }).assistants;
  return Array.isArray(list) && list.every((a) => typeof a === 'object' && a !== null && typeof (a as { name?: unknown }).name === 'string');
}

function assistantFromUrl(): string | undefined {
  const name = new URLSearchParams(window.location.search).get('assistant');
  return name && /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : undefined;
}

/**
 * Fills the selector with the server's assistants, keeping the current choice (at first the one
 * `?assistant=NAME` in the page URL names) while the server still has it. Shown only when there is
 * a choice; without the list the server's default is used. Called again after a failed or ended
 * call, as the server's assistants can change while the page is open.
 */
export async function loadAssistantChoice(): Promise<void> {
  let listing: unknown;
  try {
    const response = await fetch('/api/assistants', { cache: 'no-store' });
    listing = response.ok ? await response.json() : undefined;
  } catch {
    listing = undefined;
  }
  if (!isListing(listing)) return;
  const wanted = ui.assistant.value || assistantFromUrl();
  const selected = listing.assistants.some((a) => a.name === wanted) ? wanted : listing.default;
  ui.assistant.replaceChildren(
    ...listing.assistants.map(({ name, greeting }) => {
      const option = new Option(name, name, false, name === selected);
      if (greeting) option.title = greeting;
      return option;
    }),
  );
  ui.assistantPicker.hidden = listing.assistants.length < 2;
}

/** The assistant to ask for: the selected one, the one the page URL names, or undefined for the server's default. */
export function chosenAssistant(): string | undefined {
  return ui.assistant.value || assistantFromUrl();
}

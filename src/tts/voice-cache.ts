import type { LoadVoiceOptions, PiperVoice } from './voice.js';

type Loader = (name: string, options: LoadVoiceOptions) => Promise<PiperVoice>;

interface Entry {
  name: string;
  voice: Promise<PiperVoice>;
  users: number;
  evicted: boolean;
}

export interface VoiceLease {
  voice: PiperVoice;
  /** Must be called when the caller is done; an evicted voice is unloaded after its last user. */
  release(): void;
}

/**
 * Keeps at most `maxVoices` voices loaded, least recently used out first. A voice being used
 * while evicted is unloaded only when its last user releases it.
 */
export class VoiceCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxVoices: number,
    private readonly loader: Loader,
    private readonly loadOptions: LoadVoiceOptions = {},
    private readonly onEvict?: (name: string) => void,
  ) {}

  async acquire(name: string): Promise<VoiceLease> {
    let entry = this.entries.get(name);
    if (entry) {
      this.entries.delete(name); // re-insert: most recently used last
      this.entries.set(name, entry);
    } else {
      entry = { name, voice: this.loader(name, this.loadOptions), users: 0, evicted: false };
      this.entries.set(name, entry);
      entry.voice.catch(() => {
        if (this.entries.get(name) === entry) this.entries.delete(name); // retry next time
      });
      this.evictOverflow();
    }
    entry.users++;
    let voice: PiperVoice;
    try {
      voice = await entry.voice;
    } catch (err) {
      entry.users--;
      throw err;
    }
    const held = entry;
    let released = false;
    return {
      voice,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.evicted && held.users === 0) void voice.release();
      },
    };
  }

  /** Names of voices loaded (or loading), least recently used first. */
  loaded(): string[] {
    return [...this.entries.keys()];
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map(async (e) => {
        e.evicted = true;
        const voice = await e.voice.catch(() => undefined);
        if (voice && e.users === 0) await voice.release();
      }),
    );
  }

  private evictOverflow(): void {
    while (this.entries.size > this.maxVoices) {
      const [oldest] = this.entries.values();
      if (!oldest) return;
      this.entries.delete(oldest.name);
      oldest.evicted = true;
      this.onEvict?.(oldest.name);
      void oldest.voice.then(
        (v) => (oldest.users === 0 ? v.release() : undefined),
        () => undefined,
      );
    }
  }
}

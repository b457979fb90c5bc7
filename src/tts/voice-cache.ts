import type { LoadVoiceOptions, PiperVoice } from './voice.js';

type Loader = (name: string, options: LoadVoiceOptions) => Promise<PiperVoice>;

interface Entry {
  name: string;
  voice: Promise<PiperVoice>;
  /** Set once the load succeeded. */
  loaded: PiperVoice | undefined;
  users: number;
  /** Out of the cache: unloaded after its last user. */
  evicted: boolean;
}

export interface VoiceLease {
  voice: PiperVoice;
  /** Must be called when the caller is done; an evicted voice is unloaded after its last user. */
  release(): void;
}

export interface VoiceCacheOptions {
  /** Most voices kept loaded; exceeded only while every candidate for eviction is pinned or in use. */
  maxVoices: number;
  loader: Loader;
  loadOptions?: LoadVoiceOptions;
  /** A voice that is never evicted (the default voice). */
  pinned?: string;
  /**
   * Cheap check of a name that is not in the cache (valid name, files present), run before it
   * touches the cache; throwing refuses the request and changes nothing.
   */
  validate?: (name: string) => Promise<void>;
  /** A voice was unloaded to make room. */
  onEvict?: (name: string) => void;
  /** A voice finished loading. */
  onLoaded?: (name: string) => void;
  /** A loaded voice's inference thread died: it left the cache and loads again on next use. */
  onDeath?: (name: string, err: Error) => void;
}

/**
 * Keeps at most `maxVoices` voices loaded, least recently used out first. Never evicted: the
 * pinned (default) voice and voices with active leases (the cache is over its size only while
 * nothing else can go; the excess goes when a lease ends). Unknown names are validated before
 * they touch the cache, and a voice is made room for only once it has loaded, so bogus or broken
 * voices evict nothing. A voice whose inference thread dies is dropped and reloads on next use.
 */
export class VoiceCache {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly options: VoiceCacheOptions) {}

  async acquire(name: string): Promise<VoiceLease> {
    let entry = this.usableEntry(name);
    if (!entry) {
      await this.options.validate?.(name);
      entry = this.usableEntry(name); // another request may have started it meanwhile
    }
    if (entry) {
      this.entries.delete(name); // re-insert: most recently used last
      this.entries.set(name, entry);
    } else {
      entry = this.startLoad(name);
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
        if (held.users > 0) return;
        if (held.evicted) void voice.release();
        else this.evictOverflow();
      },
    };
  }

  /** Names of voices loaded (or loading), least recently used first. */
  loaded(): string[] {
    return [...this.entries.keys()];
  }

  async clear(): Promise<void> {
    this.closed = true;
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

  /** The cached entry for `name` unless its voice is known dead (then it is dropped). */
  private usableEntry(name: string): Entry | undefined {
    const entry = this.entries.get(name);
    if (entry?.loaded && !entry.loaded.alive) {
      this.drop(entry);
      return undefined;
    }
    return entry;
  }

  private startLoad(name: string): Entry {
    const entry: Entry = { name, voice: this.options.loader(name, this.options.loadOptions ?? {}), loaded: undefined, users: 0, evicted: false };
    this.entries.set(name, entry);
    entry.voice.then(
      (voice) => {
        entry.loaded = voice;
        if (this.closed || entry.evicted) return;
        voice.onDeath((err) => {
          if (this.entries.get(name) !== entry) return;
          this.drop(entry);
          this.options.onDeath?.(name, err);
        });
        this.options.onLoaded?.(name);
        this.evictOverflow();
      },
      () => {
        if (this.entries.get(name) === entry) this.entries.delete(name); // retry next time
      },
    );
    return entry;
  }

  /** Out of the cache now; unloaded once unused. */
  private drop(entry: Entry): void {
    if (this.entries.get(entry.name) === entry) this.entries.delete(entry.name);
    if (entry.evicted) return;
    entry.evicted = true;
    if (entry.users > 0) return; // unloaded by the last lease's release()
    if (entry.loaded) void entry.loaded.release();
    else
      void entry.voice.then(
        (v) => v.release(),
        () => undefined,
      );
  }

  private evictOverflow(): void {
    while (this.entries.size > this.options.maxVoices) {
      let victim: Entry | undefined;
      for (const e of this.entries.values()) {
        if (e.users === 0 && e.loaded && e.name !== this.options.pinned) {
          victim = e;
          break;
        }
      }
      if (!victim) return;
      this.drop(victim);
      this.options.onEvict?.(victim.name);
    }
  }
}

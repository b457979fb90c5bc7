export type Speaker = 'user' | 'agent' | 'system';

const LABELS: Record<Speaker, string> = { user: 'You', agent: 'Assistant', system: '' };

/**
 * The conversation list. Transcription segments are keyed by their segment id: a later stream for the
 * same segment replaces its text (interim user transcripts arrive that way), chunks within one stream
 * are appended (the agent's words arrive that way).
 */
export class TranscriptView {
  private readonly segments = new Map<string, HTMLLIElement>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly emptyNote: HTMLElement,
  ) {}

  private stickToBottom<T>(change: () => T): T {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 48;
    const result = change();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    return result;
  }

  private create(speaker: Speaker, text: string): HTMLLIElement {
    this.emptyNote.hidden = true;
    const item = document.createElement('li');
    item.className = `msg ${speaker}`;
    item.dataset['speaker'] = speaker;
    if (speaker !== 'system') {
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = LABELS[speaker];
      item.append(who);
    }
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    item.append(body);
    this.list.append(item);
    return item;
  }

  /** A complete message (typed chat, notices). */
  add(speaker: Speaker, text: string): void {
    this.stickToBottom(() => this.create(speaker, text));
  }

  /** Sets the text of a transcription segment, creating its bubble on first sight. */
  setSegment(segmentId: string, speaker: Speaker, text: string, final: boolean): void {
    this.stickToBottom(() => {
      let item = this.segments.get(segmentId);
      if (!item) {
        item = this.create(speaker, text);
        this.segments.set(segmentId, item);
      }
      const body = item.querySelector<HTMLElement>('.text');
      if (body) body.textContent = text;
      item.classList.toggle('interim', !final);
      item.dataset['final'] = String(final);
      // An empty interim segment (STT hiccup) should not leave an empty bubble behind.
      item.hidden = text.trim().length === 0;
    });
  }

  clear(): void {
    this.segments.clear();
    for (const item of Array.from(this.list.querySelectorAll('li.msg'))) item.remove();
    this.emptyNote.hidden = false;
  }
}

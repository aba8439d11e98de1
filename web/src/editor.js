// The query editor: a textarea over a highlighted copy of its text, where
// problems are underlined at their ranges.

import { tokenize } from './highlight.js';

export class Editor {
  /**
   * @param container the element to build the editor in
   * @param onChange called with the text after every edit
   */
  constructor(container, onChange, onCursor = () => {}) {
    this.container = container;
    this.container.classList.add('editor');
    this.overlay = document.createElement('pre');
    this.overlay.className = 'editor-overlay';
    this.overlay.setAttribute('aria-hidden', 'true');
    this.textarea = document.createElement('textarea');
    this.textarea.className = 'editor-input';
    this.textarea.spellcheck = false;
    this.textarea.setAttribute('aria-label', 'Malloy query');
    this.textarea.setAttribute('autocomplete', 'off');
    container.append(this.overlay, this.textarea);
    this.problems = [];
    this.onChange = onChange;
    this.textarea.addEventListener('input', () => {
      this.render();
      this.onChange(this.value);
    });
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    for (const event of ['keyup', 'click', 'focus']) {
      this.textarea.addEventListener(event, () => onCursor(this.problemsAtCursor()));
    }
    this.textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Tab' && !event.shiftKey) {
        event.preventDefault();
        this.insert('  ');
      }
    });
    this.render();
  }

  get value() {
    return this.textarea.value;
  }

  set value(text) {
    this.textarea.value = text;
    this.render();
    this.onChange(text);
  }

  /** Inserts `text` at the cursor, replacing the selection. */
  insert(text) {
    const { selectionStart, selectionEnd, value } = this.textarea;
    this.textarea.value = value.slice(0, selectionStart) + text + value.slice(selectionEnd);
    const cursor = selectionStart + text.length;
    this.textarea.setSelectionRange(cursor, cursor);
    this.textarea.focus();
    this.render();
    this.onChange(this.value);
  }

  /** Returns the problems whose range contains the cursor. */
  problemsAtCursor() {
    const cursor = this.textarea.selectionStart;
    return this.problems.filter((problem) => {
      const mark = markRange(this.value, problem);
      return mark.start <= cursor && cursor <= mark.end;
    });
  }

  /** Selects the text of a problem's range and focuses the editor. */
  selectProblem(problem) {
    const mark = markRange(this.value, problem);
    this.textarea.focus();
    this.textarea.setSelectionRange(mark.start, mark.end);
  }

  /** Underlines `problems` (with 0-based line and UTF-16 character ranges in this text). */
  setProblems(problems) {
    this.problems = problems;
    this.render();
  }

  syncScroll() {
    this.overlay.scrollTop = this.textarea.scrollTop;
    this.overlay.scrollLeft = this.textarea.scrollLeft;
  }

  render() {
    const text = this.value;
    const marks = this.problems.map((problem) => markRange(text, problem));
    const boundaries = new Set([0, text.length]);
    const tokens = tokenize(text);
    for (const token of tokens) {
      boundaries.add(token.start);
      boundaries.add(token.end);
    }
    for (const mark of marks) {
      boundaries.add(mark.start);
      boundaries.add(mark.end);
    }
    const points = [...boundaries].sort((a, b) => a - b);

    const fragment = document.createDocumentFragment();
    let tokenIndex = 0;
    for (let i = 0; i + 1 < points.length; i++) {
      const [start, end] = [points[i], points[i + 1]];
      while (tokenIndex < tokens.length && tokens[tokenIndex].end <= start) {
        tokenIndex++;
      }
      const token = tokens[tokenIndex];
      const span = document.createElement('span');
      if (token && token.kind && token.start <= start) {
        span.classList.add(`tok-${token.kind}`);
      }
      const covering = marks.filter((mark) => mark.start <= start && end <= mark.end);
      if (covering.length > 0) {
        const severity = covering.some((mark) => mark.severity === 'error') ? 'error' : 'warn';
        span.classList.add(`diag-${severity}`);
        span.dataset.message = covering.map((mark) => mark.message).join('\n');
      }
      span.textContent = text.slice(start, end);
      fragment.append(span);
    }

    // A trailing newline needs content after it to keep the overlay's height.
    fragment.append(document.createTextNode('\n'));
    this.overlay.replaceChildren(fragment);
    this.syncScroll();
  }
}

/** Converts a problem's range to offsets in `text`; an empty range covers the next character. */
export function markRange(text, problem) {
  let start = offsetOf(text, problem.range.start);
  let end = offsetOf(text, problem.range.end);
  if (end <= start) {
    end = Math.min(text.length, start + 1);
    if (end === start && start > 0) {
      start -= 1;
    }
  }
  return { start, end, severity: problem.severity, message: problem.message };
}

function offsetOf(text, position) {
  let offset = 0;
  for (let line = 0; line < position.line; line++) {
    const newline = text.indexOf('\n', offset);
    if (newline < 0) {
      return text.length;
    }
    offset = newline + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  const limit = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(offset + position.character, limit);
}

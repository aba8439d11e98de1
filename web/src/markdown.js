// A small Markdown renderer for notebook cells: headings, paragraphs,
// bullet and numbered lists, fenced code, inline code, bold, italics and
// links. Text is escaped before any markup is added.

export function renderMarkdown(text) {
  const container = document.createElement('div');
  container.className = 'markdown';
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let html = '';
  let paragraph = [];
  let list = null;
  const flushParagraph = () => {
    if (paragraph.length > 0) {
      html += `<p>${inline(paragraph.join(' '))}</p>`;
      paragraph = [];
    }
  };
  const closeList = () => {
    if (list) {
      html += `</${list}>`;
      list = null;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      flushParagraph();
      closeList();
      const code = [];
      for (i += 1; i < lines.length && !lines[i].startsWith('```'); i++) {
        code.push(lines[i]);
      }
      html += `<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      closeList();
      const level = heading[1].length;
      html += `<h${level}>${inline(heading[2])}</h${level}>`;
    } else if (bullet || numbered) {
      flushParagraph();
      const kind = bullet ? 'ul' : 'ol';
      if (list !== kind) {
        closeList();
        html += `<${kind}>`;
        list = kind;
      }
      html += `<li>${inline((bullet ?? numbered)[1])}</li>`;
    } else if (line.trim() === '') {
      flushParagraph();
      closeList();
    } else {
      closeList();
      paragraph.push(line.trim());
    }
  }
  flushParagraph();
  closeList();
  container.innerHTML = html;
  return container;
}

function inline(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*]+)\*/g, '$1<em>$2</em>')
    .replace(/\[([^\]]+)\]\(((?:https?:\/\/|\/|\.\/|#)[^)\s]*)\)/g, '<a href="$2">$1</a>');
}

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

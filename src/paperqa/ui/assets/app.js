() => {
  // paperqa UI, Gradio's js= hook (one expression: nothing may precede the arrow). Clicking a [n] marker in the chat scrolls its source card into view
  // and highlights it. Gradio's chat renders links with target=_blank, so the click is caught
  // (capture phase) before it opens a tab.
  if (window.__pqCites) return;
  window.__pqCites = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href*="#src-"]') : null;
    if (!link) return;
    const id = link.getAttribute('href').split('#').pop();
    const card = document.getElementById(id);
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    const folded = card.closest('details');
    if (folded) folded.open = true;
    document.querySelectorAll('.pq-focus').forEach((el) => el.classList.remove('pq-focus'));
    card.classList.add('pq-focus');
    const panel = card.closest('#sources');
    if (panel) {  // scroll the panel itself so the card sits at its top, then make sure the panel shows
      const offset = card.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
      panel.scrollBy({top: offset, behavior: 'smooth'});
      panel.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    } else {
      card.scrollIntoView({behavior: 'smooth', block: 'start'});
    }
  }, true);
  // Sortable tables (cross-paper answers, the Results tab): a click on a header sorts by that
  // column, again reverses. Cells carry data-sort (numbers; empty = no figure, always last).
  document.addEventListener('click', (event) => {
    const th = event.target.closest ? event.target.closest('table.pq-sortable th') : null;
    if (!th) return;
    const table = th.closest('table');
    const index = Array.from(th.parentNode.children).indexOf(th);
    const numeric = th.dataset.type === 'num';
    const descending = th.dataset.order !== 'desc';
    table.querySelectorAll('th').forEach((h) => { delete h.dataset.order; });
    th.dataset.order = descending ? 'desc' : 'asc';
    const body = table.tBodies[0];
    const value = (row) => {
      const cell = row.children[index];
      const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      return numeric ? (raw === '' ? null : parseFloat(raw)) : raw.toLowerCase();
    };
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = value(a), y = value(b);
      if (x === null || y === null) return (x === null) - (y === null);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach((row) => body.appendChild(row));
  });
  const panel = document.getElementById('sources');
  if (panel) new MutationObserver(() => { panel.scrollTop = 0; }).observe(panel, {childList: true, subtree: true});
}

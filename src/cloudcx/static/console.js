// Copy buttons: <button data-copy-target="ID"> copies the value of #ID.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  if (!field) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
  } catch (err) {
    field.select();
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => { button.textContent = label; }, 1500);
});

// Close an open Action menu with Escape, a click elsewhere ...
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.querySelectorAll("details.menu-button[open]").forEach((d) => {
    d.removeAttribute("open");
    d.querySelector("summary").focus();
  });
});
// ... and when the focus moves on, so that an open menu hides nothing the Tab
// key reaches next (the Action button of the row below).
const closeMenusOutside = (event) => {
  document.querySelectorAll("details.menu-button[open]").forEach((d) => {
    if (!d.contains(event.target)) d.removeAttribute("open");
  });
};
document.addEventListener("click", closeMenusOutside);
document.addEventListener("focusin", closeMenusOutside);

// The navigation menu (a <details>) is always open from 800 px. The stylesheet
// does that through ::details-content; opening it here covers browsers without
// it. Below 800 px it starts closed, as the page was sent.
(() => {
  const menu = document.querySelector("details[data-nav-menu]");
  if (!menu) return;
  document.documentElement.classList.add("js");
  const wide = window.matchMedia("(min-width: 800px)");
  const follow = () => { menu.open = wide.matches; };
  follow();
  wide.addEventListener("change", follow);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || wide.matches || !menu.open) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
})();

// Stacked table cells show their column's name from data-label; a cell
// without one borrows its column header's text.
document.querySelectorAll("table.grid").forEach((table) => {
  const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  table.querySelectorAll("tbody tr").forEach((row) => {
    [...row.children].forEach((cell, n) => {
      if (!cell.dataset.label && headers[n]) cell.dataset.label = headers[n];
    });
  });
});

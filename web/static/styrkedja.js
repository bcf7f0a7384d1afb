// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Report pages: refresh the status of queued reports without reloading by hand.
  const pending = document.querySelector("[data-refresh-seconds]");
  if (pending) {
    const seconds = Number(pending.getAttribute("data-refresh-seconds")) || 2;
    window.setTimeout(() => window.location.reload(), seconds * 1000);
  }
  // Forms that change what is shown submit as soon as a choice is made.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
});

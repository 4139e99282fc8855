// The book's own script. Video placeholders: load the privacy-enhanced player only on a click.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".video-facade-play");
  if (!button) return;
  const facade = button.closest(".video-facade");
  const iframe = document.createElement("iframe");
  iframe.src = `https://www.youtube-nocookie.com/embed/${facade.dataset.videoId}?autoplay=1`;
  iframe.title = facade.dataset.title;
  iframe.allow = "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture";
  iframe.allowFullscreen = true;
  iframe.className = "video-facade-frame";
  button.replaceWith(iframe);
  iframe.focus();
});

// Sidebar buttons (pydata/pydata-sphinx-theme#2451, executablebooks/sphinx-book-theme#935).
// Both themes wire their handlers to the first .primary-toggle and .secondary-toggle in the
// page, which sit in the header and are hidden; the buttons a reader sees are a second pair, in
// the article header, with no handler. Without this, neither the navigation nor the page
// contents can be opened on a phone. Pass their clicks on, but only when no theme handler took
// the click itself: every handler of theirs calls preventDefault(), so once upstream wires all
// the buttons, nothing is passed on and nothing opens or closes twice. The check waits until
// the click has reached every handler, whichever order they were added in.
for (const kind of ["primary-toggle", "secondary-toggle"]) {
  const wired = document.querySelector(`.${kind}`);
  for (const button of document.querySelectorAll(`.${kind}`)) {
    if (button === wired) continue;
    button.addEventListener("click", (event) => {
      setTimeout(() => {
        if (!event.defaultPrevented) wired.click();
      });
    });
  }
}

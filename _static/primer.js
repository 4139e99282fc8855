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

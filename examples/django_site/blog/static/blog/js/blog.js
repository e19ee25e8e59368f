for (const article of document.querySelectorAll("article")) {
  article.tabIndex = 0;
}

import "./main.css";

// Rendered by the entry tags: {% entry_tags "src/main.js" %} or {{ entry_tags("src/main.js") }}.
const target = document.getElementById("frontend");
if (target) {
  target.textContent = "This paragraph was written by the Vite bundle.";
  target.classList.add("frontend-ready");
}
window.hashstoreFrontend = true;

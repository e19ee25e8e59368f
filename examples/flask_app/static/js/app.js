document.documentElement.classList.add("js");
console.log("hashstore example loaded");
//# sourceMappingURL=app.js.map

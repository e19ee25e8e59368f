document.querySelector(".admin-bar")?.classList.add("ready");

// The examples' front end, built once for each app (`npm ci && npm run build`; the output is
// committed so the examples run without npm). base "./": the files find each other wherever
// hashstore publishes them.
import { defineConfig } from "vite";

const outputs = {
  // Flask publishes its static folder; hashstore reads .vite/manifest.json there.
  flask: { outDir: "../flask_app/static/dist", manifest: true },
  // collectstatic leaves out hidden folders: the manifest goes to the top of the output.
  django: { outDir: "../django_site/frontend/dist", manifest: "manifest.json" },
};

export default defineConfig(({ mode }) => ({
  base: "./",
  build: {
    ...outputs[mode],
    emptyOutDir: true,
    assetsInlineLimit: 0,
    rollupOptions: { input: ["src/main.js"] },
  },
}));

// Vite's module types: `?inline` CSS imports (uPlot's stylesheet, adopted into a shadow root).
/// <reference types="vite/client" />

/** Entry point: defining <hub-app> (and through it every element) starts the page. */
import './components/hub-app.js';

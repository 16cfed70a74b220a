/** Entry point: the saved colour theme first, then defining <hub-app> (and through it every element) starts the page. */
import { applySavedTheme } from './components/theme-picker.js';
import './components/hub-app.js';

applySavedTheme();

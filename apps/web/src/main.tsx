/** Entry point: the only module `index.html` loads. */
import { render } from 'preact';
import { App } from './app.tsx';

const root = document.getElementById('app');
if (!root) throw new TypeError('index.html must contain <div id="app">');
render(<App />, root);

// Every example, mounted under /examples/ by the server that `npm start` runs.
import { include } from '../server/urls.ts';
import { urls as clockUrls } from './clock.ts';
import { pollUrls } from './polls/urls.ts';

export function exampleUrls() {
  return [...clockUrls, include('polls/', pollUrls())];
}

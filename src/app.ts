/** The composition root lives in src/app/ (create-greenlight.ts); this entry keeps main.ts and tests' import. */
export { createGreenlight, type Greenlight, type GreenlightOptions } from './app/create-greenlight.ts';

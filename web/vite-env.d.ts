/// <reference types="vite/client" />
/** The package version (vite.config.ts define). */
declare const __APP_VERSION__: string;

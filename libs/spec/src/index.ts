/**
 * @ssdk/spec — reads a services file (any of its three shapes) into one typed model.
 */
export * from './model.ts';

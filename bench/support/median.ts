/** The middle value (the upper one of an even count), as every benchmark's rounds are summarised. */
export const median = (values: readonly number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

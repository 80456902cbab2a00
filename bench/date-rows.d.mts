export declare const FORMATS: readonly string[];
export declare const CASINGS: readonly string[];
export declare function formatDate(date: { year: number; month: number; day: number }, format: string, casing?: string): string;
export declare function randomDates(count: number, seed: number): { text: string; iso: string; format: string; casing: string }[];

// GUP flags (include/linux/mm.h FOLL_*, mm/internal.h FOLL_PIN; all modelled versions), in a
// file of their own so the fast and slow GUP paths can both use them without importing each other.
export const FOLL = {
  WRITE: 1 << 0,
  GET: 1 << 1,
  LONGTERM: 1 << 8,
  TOUCH: 1 << 2, // mark the page accessed (and dirty on write)
  PIN: 1 << 16, // internal: set by pin_user_pages()
} as const;

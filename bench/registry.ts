import type { Section } from './types.js';

const sections = new Map<string, Section>();

/** Adds a section to the harness. Call at module top level of a file in bench/sections/. */
export function registerSection(section: Section): void {
  if (sections.has(section.id)) throw new Error(`bench: section '${section.id}' registered twice`);
  const ids = new Set<string>();
  for (const row of section.rows) {
    if (ids.has(row.id)) throw new Error(`bench: row '${row.id}' appears twice in section '${section.id}'`);
    ids.add(row.id);
  }
  sections.set(section.id, section);
}

/** All registered sections, sorted by `order` then id. */
export function registeredSections(): Section[] {
  return [...sections.values()].sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.id.localeCompare(b.id));
}

/** Sections selected by `--only` (matching a section id or one of its aliases). */
export function selectSections(only: string[] | null): Section[] {
  const all = registeredSections();
  if (!only || only.length === 0) return all;
  return all.filter((s) => only.includes(s.id) || (s.aliases ?? []).some((a) => only.includes(a)));
}

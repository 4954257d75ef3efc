import type { Migrations } from '../executor/index.js';

/**
 * The study store's tables (component `study`), for both back ends. Append steps only: never edit a shipped one.
 * Step 1 says IF NOT EXISTS because SQLite files written before this component existed already hold these tables
 * (StudyStore.open adds the one column they may lack first); PostgreSQL never had them.
 */
export const STUDY_SCHEMA: Migrations = {
  component: 'study',
  steps: [
    `
    CREATE TABLE IF NOT EXISTS search_studies (
      name TEXT PRIMARY KEY,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      config TEXT NOT NULL,
      state TEXT NOT NULL,
      stopped TEXT,
      spent DOUBLE PRECISION NOT NULL DEFAULT 0,
      best TEXT
    );
    CREATE TABLE IF NOT EXISTS search_trials (
      study_name TEXT NOT NULL REFERENCES search_studies(name) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      kind TEXT NOT NULL,
      strategy TEXT NOT NULL,
      mixture TEXT NOT NULL,
      mixture_key TEXT NOT NULL,
      label TEXT NOT NULL,
      state TEXT NOT NULL,
      result TEXT,
      error TEXT,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      PRIMARY KEY (study_name, number),
      UNIQUE (study_name, mixture_key)
    );
    CREATE TABLE IF NOT EXISTS search_observations (
      study_name TEXT NOT NULL REFERENCES search_studies(name) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      trial INTEGER NOT NULL,
      purpose TEXT NOT NULL,
      strategy TEXT NOT NULL,
      fidelity INTEGER NOT NULL,
      sample_offset INTEGER NOT NULL,
      prompt_ids TEXT NOT NULL,
      state TEXT NOT NULL,
      result TEXT,
      note TEXT,
      error TEXT,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      PRIMARY KEY (study_name, number),
      UNIQUE (study_name, trial, sample_offset, fidelity)
    );`,
    // A study's spend now lives in its ledger scope (`study:<name>`); studies that booked on their own row before
    // carry that spend over, so a resumed old study keeps to its budget.
    `
    INSERT INTO ledger_scopes (scope, budget_usd, spent_usd, reserved_usd, calls, ephemeral, created_at, updated_at)
    SELECT 'study:' || name, NULL, spent, 0, 0, 0, moa_now_ms(), moa_now_ms() FROM search_studies WHERE spent > 0
    ON CONFLICT (scope) DO NOTHING;`,
  ],
};

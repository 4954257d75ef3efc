/** The words a study's numbers are said in (CLI summary, report, pareto): a judge search scores agreement on pairs. */
export interface ObjectiveTerms {
  /** "score" or "agreement". */
  score: string;
  /** An axis or column title: what the number is, in %. */
  scoreTitle: string;
  /** What the study's items are: "prompts" / "pairs", and one of them. */
  items: string;
  item: string;
  /** What a mixture's cost is per: "query" / "pair". */
  per: string;
  /** The comparison every answer carries: "best single model" / "best single judge". */
  single: string;
}

export function objectiveTerms(objective: string | undefined): ObjectiveTerms {
  if (objective === 'judge')
    return { score: 'agreement', scoreTitle: 'Agreement with reference preferences (%)', items: 'pairs', item: 'pair', per: 'pair', single: 'best single judge' };
  return { score: 'score', scoreTitle: 'Score (win rate %, mean over sources)', items: 'prompts', item: 'prompt', per: 'query', single: 'best single model' };
}

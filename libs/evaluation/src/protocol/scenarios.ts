/** Protocol P1's four scenarios (docs/protocols.md, "P1"), in report order. */
export const SCENARIOS = ['warm', 'new_user', 'new_item', 'new_user_new_item'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const COLD_SCENARIOS: readonly Scenario[] = ['new_user', 'new_item', 'new_user_new_item'];
/** The scenarios whose items are new (released in P1's new-item years): new_item, new_user_new_item. */
export const NEW_ITEM_SCENARIOS: readonly Scenario[] = ['new_item', 'new_user_new_item'];

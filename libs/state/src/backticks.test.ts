import { describe, expect, it } from 'vitest';
import { backticksToDoubleQuotes } from './backticks.ts';

describe('backticksToDoubleQuotes', () => {
  it.each([
    ['select * from `count-per-word`', 'select * from "count-per-word"'],
    ["select * from `storedflows` where `flow_id` = '{}'", `select * from "storedflows" where "flow_id" = '{}'`],
    // Literals, quoted identifiers, comments and dollar quotes keep their backticks.
    ["select '`a`', \"b`c\" from `t` -- `x`\n", `select '\`a\`', "b\`c" from "t" -- \`x\`\n`],
    ["select 'it''s `x`' /* `y` */, $$`z`$$, $q$`w`$q$ from `t`", `select 'it''s \`x\`' /* \`y\` */, $$\`z\`$$, $q$\`w\`$q$ from "t"`],
    // A double quote inside a backtick name is escaped; an unclosed backtick is left for PostgreSQL.
    ['select `a"b` from `t', 'select "a""b" from `t'],
    ['select 1', 'select 1'],
  ])('%s', (sql, want) => {
    expect(backticksToDoubleQuotes(sql)).toBe(want);
  });
});

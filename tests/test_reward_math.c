// Math answer reward: table-driven cases, each worked by hand with the reason it
// exists (extraction, the think rule, fractions, signs, separators, units, LaTeX,
// huge numbers), plus hostile inputs that must score correctly without crashing.
#include "reward/math_answer.h"
#include "reward/reward.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *completion, *gold;
    int want, prefilled;
    const char *why;
} Case;

// Completions scored by the math reward against a gold answer.
static const Case CASES[] = {
    {"\\boxed{5}", "5", 1, 0, "plain boxed integer"},
    {"The answer is \\boxed{42}.", "42", 1, 0, "boxed inside a sentence"},
    {"\\boxed{\\frac{1}{2}}", "0.5", 1, 0, "boxed fraction equals decimal gold"},
    {"\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}", 1, 0, "nested braces and sqrt shorthand"},
    {"\\boxed{3} then later \\boxed{4}", "4", 1, 0, "several boxed: last wins"},
    {"\\boxed{3} then later \\boxed{4}", "3", 0, 0, "several boxed: earlier one loses"},
    {"\\boxed{4} and \\boxed{5", "4", 1, 0, "unclosed last box falls back to the closed one"},
    {"\\boxed{4} and \\boxed{5", "5", 0, 0, "unclosed box is not an answer"},
    {"\\boxed 7", "7", 1, 0, "boxed with a space argument"},
    {"so \\boxed 7.", "7", 1, 0, "space argument with a trailing period"},
    {"\\fbox{9}", "9", 1, 0, "fbox counts as a box"},
    {"\\boxed{\\boxed{6}}", "6", 1, 0, "box inside a box"},
    {"\\boxed{}", "0", 0, 0, "empty box is no answer"},
    {"\\boxed{{{2}}}", "2", 1, 0, "redundant braces removed"},
    {"\\boxed{\\{1,2\\}}", "\\{1,2\\}", 1, 0, "escaped braces do not close the box"},
    {"$\\boxed{-3}$", "-3", 1, 0, "box inside math mode"},
    {"\\boxedfoo{3}", "3", 0, 0, "\\boxedfoo is not \\boxed"},
    {"\\boxed{\\left(\\frac{1}{2}, 3\\right)}", "(\\frac12,3)", 1, 0, "nested braces inside \\left \\right"},
    {"\\boxed{a{b{c{d}}}}", "a{b{c{d}}}", 1, 0, "deep nesting kept"},
    {"\\boxed{1}\\boxed{2}\\boxed{3}", "3", 1, 0, "adjacent boxes: last wins"},
    {"\\boxed{10} is wrong, use \\boxed{12}", "12", 1, 0, "self-correction: last box"},
    {"\\( \\boxed{3} \\)", "3", 1, 0, "inline math delimiters"},
    {"\\[\\boxed{3}\\]", "3", 1, 0, "display math delimiters"},
    {"<answer>12</answer>", "12", 1, 0, "answer tag"},
    {"<answer> 12 </answer>", "12", 1, 0, "answer tag with spaces"},
    {"<answer>1</answer><answer>2</answer>", "2", 1, 0, "last answer tag wins"},
    {"<answer>1</answer><answer>2</answer>", "1", 0, 0, "first answer tag loses"},
    {"<answer>12", "12", 0, 0, "unclosed answer tag is no answer"},
    {"<answer>3</answer> \\boxed{4}", "4", 1, 0, "boxed beats answer tag"},
    {"<answer>3</answer> \\boxed{4}", "3", 0, 0, "answer tag ignored when a box exists"},
    {"<answer>\\boxed{5}</answer>", "5", 1, 0, "box inside answer tag"},
    {"<answer>$\\frac{3}{4}$</answer>", "0.75", 1, 0, "math mode inside answer tag"},
    {"<answer></answer>", "0", 0, 0, "empty answer tag"},
    {"#### 72", "72", 1, 0, "GSM8K marker"},
    {"blah blah\n#### 1,000", "1000", 1, 0, "GSM8K marker with separator"},
    {"Answer: 15", "15", 1, 0, "Answer: marker"},
    {"answer: 15", "15", 1, 0, "lowercase marker"},
    {"ANSWER: 15", "15", 1, 0, "uppercase marker"},
    {"**Answer:** 15", "15", 1, 0, "markdown bold marker"},
    {"The answer is 15.", "15", 1, 0, "answer-is phrase with period"},
    {"The final answer is $\\frac{3}{4}$.", "0.75", 1, 0, "answer-is phrase with LaTeX"},
    {"Answer:\n 15", "15", 1, 0, "answer on the next line"},
    {"Answer: 15\nMore text 16", "15", 1, 0, "only the rest of the marker line"},
    {"#### 5\n#### 6", "6", 1, 0, "last marker wins"},
    {"Answer: 3 #### 4", "4", 1, 0, "later marker on the same line wins"},
    {"no answer here 5", "5", 0, 0, "no answer at all"},
    {"", "5", 0, 0, "empty completion"},
    {"The answer is", "5", 0, 0, "marker with nothing after it"},
    {"I think 5", "5", 0, 0, "bare number without marker is not an answer"},
    {"<think>\\boxed{5}</think>", "5", 0, 0, "answer only inside think"},
    {"<think>\\boxed{5}</think> \\boxed{6}", "6", 1, 0, "answer after think"},
    {"<think>\\boxed{5}</think> \\boxed{6}", "5", 0, 0, "think answer ignored when an outside one exists"},
    {"<think>\\boxed{5}", "5", 0, 0, "unclosed think block holds no answer"},
    {"<think>ok</think><answer>5</answer>", "5", 1, 0, "R1 layout"},
    {"<think>Answer: 5</think>", "5", 0, 0, "marker inside think does not count"},
    {"<think>#### 5</think>#### 6", "6", 1, 0, "marker after think"},
    {"\\boxed{5}<think>hmm", "5", 1, 0, "answer before an unclosed think"},
    {"<think>a</think>\\boxed{1}<think>b</think>\\boxed{2}", "2", 1, 0, "region after the last </think>"},
    {"<think>a</think>\\boxed{1}<think>b</think>\\boxed{2}", "1", 0, 0, "box between think blocks ignored"},
    {"<think><answer>5</answer></think>", "5", 0, 0, "answer tag inside think"},
    {"reasoning \\boxed{5}", "5", 0, 1, "prefilled think without close: all thinking"},
    {"reasoning</think><answer>5</answer>", "5", 1, 1, "prefilled think closed"},
    {"reasoning</think>\\boxed{7}", "7", 1, 1, "prefilled think then box"},
    {"\\boxed{7}", "7", 0, 1, "prefilled and never closed"},
    {"\\boxed{0.5}", "\\frac{1}{2}", 1, 0, "decimal equals fraction"},
    {"\\boxed{\\frac12}", "1/2", 1, 0, "frac shorthand equals slash"},
    {"\\boxed{\\dfrac{1}{2}}", "0.5", 1, 0, "dfrac"},
    {"\\boxed{\\tfrac{1}{2}}", "0.5", 1, 0, "tfrac"},
    {"\\boxed{\\cfrac{1}{2}}", "0.5", 1, 0, "cfrac"},
    {"\\boxed{0.333}", "1/3", 0, 0, "truncated decimal is not a third"},
    {"\\boxed{0.3333333333}", "\\frac{1}{3}", 0, 0, "long truncated decimal is not a third"},
    {"\\boxed{2/4}", "1/2", 1, 0, "unreduced slash fraction"},
    {"\\boxed{\\frac{2}{4}}", "0.5", 1, 0, "unreduced frac"},
    {"\\boxed{\\frac{1}{3}}", "\\frac{2}{6}", 1, 0, "both unreduced"},
    {"\\boxed{0.25}", "1/4", 1, 0, "quarter"},
    {"\\boxed{.5}", "0.5", 1, 0, "no leading zero"},
    {"\\boxed{5.}", "5", 1, 0, "trailing point"},
    {"\\boxed{1.50}", "1.5", 1, 0, "trailing zero"},
    {"\\boxed{2.000}", "2", 1, 0, "trailing zeros to integer"},
    {"\\boxed{3/1}", "3", 1, 0, "denominator one"},
    {"\\boxed{1\\frac{1}{2}}", "1.5", 1, 0, "mixed number"},
    {"\\boxed{1\\frac{1}{2}}", "3/2", 1, 0, "mixed number vs improper"},
    {"\\boxed{-1\\frac{1}{2}}", "-1.5", 1, 0, "negative mixed number"},
    {"\\boxed{2\\frac{1}{4}}", "2.25", 1, 0, "mixed number quarter"},
    {"\\boxed{1/0}", "0", 0, 0, "division by zero is not a number"},
    {"\\boxed{\\frac{1}{0}}", "0", 0, 0, "frac by zero is not a number"},
    {"\\boxed{0.1}", "1/10", 1, 0, "tenth"},
    {"\\boxed{0.10}", "0.1", 1, 0, "tenth with zero"},
    {"\\boxed{3.14}", "3.14159", 0, 0, "rounded pi"},
    {"\\boxed{\\frac{22}{7}}", "3.142857", 0, 0, "22/7 is not a decimal approximation"},
    {"\\boxed{1e3}", "1000", 0, 0, "scientific notation is not parsed"},
    {"\\boxed{\\frac{-1}{2}}", "-0.5", 1, 0, "negative numerator"},
    {"\\boxed{\\frac{1}{-2}}", "-1/2", 1, 0, "negative denominator"},
    {"\\boxed{-\\frac{1}{2}}", "-0.5", 1, 0, "minus before frac"},
    {"\\boxed{- \\frac{1}{2}}", "-1/2", 1, 0, "minus and space before frac"},
    {"\\boxed{\\frac {1} {2}}", "0.5", 1, 0, "spaces inside frac"},
    {"\\boxed{\\frac{1}{2}}", "\\frac{1}{3}", 0, 0, "different fractions"},
    {"\\boxed{\\frac{3}{2}}", "1.5", 1, 0, "improper fraction"},
    {"\\boxed{\\frac{1.5}{3}}", "0.5", 1, 0, "decimal inside frac"},
    {"\\boxed{0.125}", "\\frac18", 1, 0, "eighth"},
    {"\\boxed{0.2}", "1/5", 1, 0, "fifth"},
    {"\\boxed{1/3}", "0.33333333333333333333333333333333333333333333", 0, 0, "third vs long decimal"},
    {"\\boxed{\\frac{7}{1}}", "7", 1, 0, "frac over one"},
    {"\\boxed{7/2}", "3.5", 1, 0, "slash half"},
    {"\\boxed{\\frac{10}{4}}", "\\frac{5}{2}", 1, 0, "reduced both sides"},
    {"\\boxed{0.50}", "1/2", 1, 0, "half with zero"},
    {"\\boxed{1/2}", "2/1", 0, 0, "inverted fraction"},
    {"\\boxed{\\frac12}", "\\frac21", 0, 0, "inverted shorthand"},
    {"\\boxed{-5}", "-5", 1, 0, "negative integer"},
    {"\\boxed{-5}", "5", 0, 0, "sign matters"},
    {"\\boxed{5}", "-5", 0, 0, "sign matters the other way"},
    {"\\boxed{\xe2""\x88""\x92""5}", "-5", 1, 0, "unicode minus sign"},
    {"\\boxed{- 5}", "-5", 1, 0, "minus then space"},
    {"\\boxed{-0}", "0", 1, 0, "negative zero"},
    {"\\boxed{+5}", "5", 1, 0, "leading plus"},
    {"\\boxed{-0.5}", "-\\frac{1}{2}", 1, 0, "negative half"},
    {"\\boxed{--5}", "5", 0, 0, "double minus is text"},
    {"\\boxed{-1/2}", "-0.5", 1, 0, "negative slash fraction"},
    {"\\boxed{-3.75}", "-15/4", 1, 0, "negative decimal vs fraction"},
    {"#### -4", "-4", 1, 0, "negative after marker"},
    {"\\boxed{1,000}", "1000", 1, 0, "thousands comma"},
    {"\\boxed{1,000,000}", "1000000", 1, 0, "two thousands commas"},
    {"\\boxed{1{,}000}", "1000", 1, 0, "LaTeX thousands separator"},
    {"\\boxed{1\\,000}", "1000", 1, 0, "thin-space separator"},
    {"\\boxed{1 000}", "1000", 1, 0, "space separator"},
    {"\\boxed{1,000.5}", "1000.5", 1, 0, "separator and decimals"},
    {"\\boxed{10,00}", "1000", 0, 0, "bad grouping is not a number"},
    {"\\boxed{1,2}", "12", 0, 0, "a pair is not a thousands number"},
    {"\\boxed{12,345}", "12345", 1, 0, "five digits with comma"},
    {"\\boxed{-1,234}", "-1234", 1, 0, "negative with separator"},
    {"\\boxed{1234,567}", "1234567", 0, 0, "four-digit lead group is not a separator"},
    {"#### 1,234", "1234", 1, 0, "marker with separator"},
    {"\\boxed{1000}", "1,000", 1, 0, "separator in the gold"},
    {"\\boxed{1,000}", "100", 0, 0, "separator does not drop digits"},
    {"\\boxed{5 cm}", "5", 1, 0, "unit word"},
    {"\\boxed{5\\text{ cm}}", "5", 1, 0, "unit in text"},
    {"\\boxed{5\\text{cm}}", "5", 1, 0, "unit in text without space"},
    {"\\boxed{12 dollars}", "12", 1, 0, "dollars word"},
    {"\\boxed{\\$12}", "12", 1, 0, "escaped dollar sign"},
    {"\\boxed{\\$12.50}", "12.5", 1, 0, "dollar amount with cents"},
    {"\\boxed{5 \\text{m}}", "5", 1, 0, "one-letter unit from text"},
    {"\\boxed{5m}", "5", 0, 0, "bare one-letter suffix is not a unit"},
    {"\\boxed{5x}", "5", 0, 0, "5x is an expression"},
    {"\\boxed{20 square feet}", "20", 1, 0, "two unit words"},
    {"\\boxed{9.8\\text{ m/s}^2}", "9.8", 1, 0, "compound unit with exponent"},
    {"\\boxed{3 million}", "3", 0, 0, "million changes the value"},
    {"\\boxed{2 pi}", "2", 0, 0, "pi is not a unit"},
    {"\\boxed{5 apples and 3 pears}", "5", 0, 0, "words with another number"},
    {"\\boxed{45^\\circ}", "45", 1, 0, "degree circ"},
    {"\\boxed{45^{\\circ}}", "45", 1, 0, "braced degree circ"},
    {"\\boxed{45\xc2""\xb0""}", "45", 1, 0, "degree sign"},
    {"\\boxed{45 degrees}", "45", 1, 0, "degrees word"},
    {"\\boxed{5\\text{ km}^2}", "5", 1, 0, "squared unit"},
    {"\\boxed{100 \\mbox{ meters}}", "100", 1, 0, "mbox unit"},
    {"#### 18 dollars", "18", 1, 0, "marker with unit"},
    {"Answer: 7 apples", "7", 1, 0, "marker with plural noun"},
    {"\\boxed{\\frac{1}{2} cup}", "0.5", 1, 0, "fraction with unit"},
    {"\\boxed{10\\text{ hours}}", "10", 1, 0, "hours"},
    {"\\boxed{3~\\text{cm}}", "3", 1, 0, "tilde space then unit"},
    {"\\boxed{2 cats}", "3", 0, 0, "unit stripped but wrong number"},
    {"\\boxed{50\\%}", "50", 1, 0, "escaped percent"},
    {"\\boxed{50%}", "50", 1, 0, "bare percent"},
    {"\\boxed{50}", "50\\%", 1, 0, "percent in gold"},
    {"\\boxed{12.5\\%}", "12.5", 1, 0, "decimal percent"},
    {"\\boxed{50\\%}", "0.5", 0, 0, "percent is stripped, not divided"},
    {"\\boxed{50 percent}", "50", 1, 0, "percent word"},
    {"\\boxed{\\left( 1, 2 \\right)}", "(1,2)", 1, 0, "left right parentheses"},
    {"\\boxed{\\left[ 0, 1 \\right)}", "[0,1)", 1, 0, "half-open interval"},
    {"\\boxed{ 7 }", "7", 1, 0, "spaces in box"},
    {"\\boxed{\\displaystyle 7}", "7", 1, 0, "displaystyle"},
    {"\\boxed{\\, 7\\,}", "7", 1, 0, "thin spaces"},
    {"\\boxed{7\\!}", "7", 1, 0, "negative space"},
    {"\\boxed{\\quad 7}", "7", 1, 0, "quad"},
    {"\\boxed{\\sqrt{2}}", "\\sqrt2", 1, 0, "sqrt shorthand in gold"},
    {"\\boxed{2\\sqrt{3}}", "2 \\sqrt 3", 1, 0, "coefficient and spaced sqrt"},
    {"\\boxed{\\frac{\\pi}{2}}", "\\frac\\pi2", 1, 0, "frac shorthand with command argument"},
    {"\\boxed{\\pi}", "\\pi", 1, 0, "pi symbol"},
    {"\\boxed{\\infty}", "\\infty", 1, 0, "infinity"},
    {"\\boxed{x^2+1}", "x^2 + 1", 1, 0, "spaces in a polynomial"},
    {"\\boxed{\\text{(A)}}", "(A)", 1, 0, "choice in text"},
    {"\\boxed{\\textbf{B}}", "B", 1, 0, "bold text"},
    {"\\boxed{\\mathrm{B}}", "B", 1, 0, "mathrm"},
    {"\\boxed{\\text{yes}}", "yes", 1, 0, "word answer"},
    {"\\boxed{\\text{Yes}}", "no", 0, 0, "different word"},
    {"\\boxed{\\{1, 2\\}}", "\\{1,2\\}", 1, 0, "set with spaces"},
    {"\\boxed{a\\cdot b}", "a \\cdot b", 1, 0, "cdot spacing"},
    {"\\boxed{\\sqrt[3]{8}}", "\\sqrt[3]8", 1, 0, "cube root shorthand"},
    {"\\boxed{\\frac{\\sqrt{2}}{2}}", "\\dfrac{\\sqrt2}{2}", 1, 0, "dfrac with sqrt shorthand"},
    {"\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{\\sqrt{2}}{2}", 0, 0, "no symbolic simplification"},
    {"\\boxed{x = 5}", "5", 1, 0, "leading variable"},
    {"\\boxed{x=5}", "5", 1, 0, "leading variable without spaces"},
    {"\\boxed{y = -2}", "-2", 1, 0, "leading y with negative"},
    {"\\boxed{x_1 = 3}", "3", 1, 0, "subscripted variable"},
    {"\\boxed{x_{1} = 3}", "3", 1, 0, "braced subscript"},
    {"\\boxed{\\theta = \\frac{\\pi}{4}}", "\\frac{\\pi}{4}", 1, 0, "Greek variable"},
    {"\\boxed{5}", "x=5", 1, 0, "variable in the gold"},
    {"\\boxed{2x = 10}", "10", 0, 0, "2x is not a variable name"},
    {"\\boxed{x + y = 5}", "5", 0, 0, "sum on the left is kept"},
    {"\\boxed{x = 0.5}", "1/2", 1, 0, "variable and decimal"},
    {"\\boxed{ab = 3}", "3", 0, 0, "two-letter left side kept"},
    {"\\boxed{k=3}", "3", 1, 0, "k variable"},
    {"\\boxed{x = 5 cm}", "5", 1, 0, "variable and unit"},
    {"\\boxed{\\text{B}}", "B", 1, 0, "text letter"},
    {"\\boxed{(1,2)}", "(1, 2)", 1, 0, "tuple spacing"},
    {"\\boxed{(1,2)}", "(2,1)", 0, 0, "tuple order matters"},
    {"\\boxed{x+1}", "1+x", 0, 0, "no algebraic equivalence"},
    {"\\boxed{\\frac{\\sqrt{3}}{2}}", "\\dfrac{\\sqrt{3}}{2}", 1, 0, "symbolic fraction"},
    {"\\boxed{\\sqrt{3}/2}", "\\frac{\\sqrt{3}}{2}", 0, 0, "no symbolic equivalence"},
    {"\\boxed{[1,2]}", "[1,2]", 1, 0, "closed interval"},
    {"\\boxed{A}", "a", 0, 0, "case sensitive"},
    {"\\boxed{\\text{even}}", "even", 1, 0, "parity word"},
    {"\\boxed{x \\in [2, 5]}", "x\\in[2,5]", 1, 0, "set membership spacing"},
    {"\\boxed{2^{10}}", "1024", 0, 0, "powers are not evaluated"},
    {"\\boxed{3+4}", "7", 0, 0, "sums are not evaluated"},
    {"\\boxed{\\frac{1}{2}+\\frac{1}{2}}", "1", 0, 0, "fraction sums are not evaluated"},
    {"\\boxed{123456789012345678901234567890123456789012345678901234567890}", "123456789012345678901234567890123456789012345678901234567890", 1, 0, "huge integer compared exactly as text"},
    {"\\boxed{123456789012345678901234567890123456789012345678901234567890}", "123456789012345678901234567890123456789012345678901234567891", 0, 0, "huge integers differ in the last digit"},
    {"\\boxed{123456789012345678901234567890123456789012.50}", "123456789012345678901234567890123456789012.5", 1, 0, "huge decimal trailing zero"},
    {"\\boxed{00000000000000000000000000000000000000000000005}", "5", 1, 0, "many leading zeros"},
    {"\\boxed{1,000,000,000,000,000,000,000,000,000,000,000,000,000}", "1000000000000000000000000000000000000000", 1, 0, "huge number with separators"},
    {"\\boxed{99999999999999999999999999999999999999/99999999999999999999999999999999999999}", "1", 0, 0, "overflowing fraction compares as text"},
    {"\\boxed{170141183460469231731687303715884105728}", "0", 0, 0, "2^127 must not wrap"},
    {"\\boxed{340282366920938463463374607431768211456}", "0", 0, 0, "2^128 must not wrap to zero"},
    {"\\boxed{18446744073709551616}", "18446744073709551616", 1, 0, "past 64 bits still exact"},
    {"\\boxed{18446744073709551616}", "0", 0, 0, "2^64 must not wrap to zero"},
    {"\\boxed{0.000000000000000000000000000000000000000001}", "0", 0, 0, "tiny decimal is not zero"},
    {"\\boxed{85070591730234615865843651857942052863}", "85070591730234615865843651857942052863", 1, 0, "just below 2^126 as a number"},
    {"\\boxed{-170141183460469231731687303715884105728}", "170141183460469231731687303715884105728", 0, 0, "huge negative keeps its sign"},
    {"\\boxed{5}", "\\boxed{5}", 1, 0, "boxed gold"},
    {"\\boxed{5}", "The answer is \\boxed{5}.", 1, 0, "gold solution with a box"},
    {"\\boxed{72}", "Natalia sold 48/2 = 24 clips.\n#### 72", 1, 0, "GSM8K gold solution"},
    {"\\boxed{5}", "6", 0, 0, "plain wrong answer"},
    {"\\boxed{0}", "0", 1, 0, "zero"},
    {"\\boxed{0.0}", "0", 1, 0, "zero with decimal"},
    {"\\boxed{100}", "100.0", 1, 0, "decimal gold"},
    {"\\boxed{007}", "7", 1, 0, "leading zeros"},
    {"\\boxed{1.0e2}", "100", 0, 0, "exponent form is text"},
    {"\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", 1, 0, "identical fractions"},
    {"\\boxed{\\text{ 1/2 }}", "0.5", 1, 0, "fraction in text"},
    {"\\boxed{\\mathbf{3}}", "3", 1, 0, "bold math"},
    {"\\boxed{3.}", "3", 1, 0, "sentence-final point in box"},
    {"The answer is $\\boxed{12}$.", "12", 1, 0, "box in dollars in a sentence"},
    {"The total is 5 + 7 = \\boxed{12}", "12", 1, 0, "box after equation"},
    {"\\boxed{12}", "twelve", 0, 0, "number word gold is text"},
    {"\\boxed{$12$}", "12", 1, 0, "dollars inside box"},
    {"\\boxed{\\left\\{ 1, 2 \\right\\}}", "\\{1,2\\}", 1, 0, "left right braces"},
    {"\\boxed{x\\in\\mathbb{R}}", "x \\in \\mathbb{R}", 1, 0, "command spacing"},
    {"\\boxed{\\text{no solution}}", "no solution", 1, 0, "phrase answer"},
    {"\\boxed{4\\%}", "0.04", 0, 0, "percent never becomes a fraction"},
    {"\\boxed{1/2}", "0.5.", 1, 0, "gold with trailing period"},
    {"\\boxed{12}", "12.", 1, 0, "integer gold with trailing period"},
    {"\\boxed{.}", "0", 0, 0, "lone point"},
    {"\\boxed{-}", "0", 0, 0, "lone minus"},
    {"\\boxed{/}", "0", 0, 0, "lone slash"},
    {"\\boxed{1/}", "1", 0, 0, "dangling slash"},
    {"\\boxed{/2}", "0.5", 0, 0, "missing numerator"},
    {"\\boxed{1..2}", "1.2", 0, 0, "two points"},
    {"\\boxed{1.2.3}", "1.2", 0, 0, "version-like text"},
    {"\\boxed{\\frac{}{}}", "0", 0, 0, "empty frac"},
    {"\\boxed{\\frac{1}}", "1", 0, 0, "frac with one argument"},
    {"\\boxed{\\frac}", "0", 0, 0, "frac with no arguments"},
    {"\\boxed{\\\\}", "0", 0, 0, "LaTeX newline only"},
    {"\\boxed{\\}", "0", 0, 0, "lone backslash"},
    {"\\boxed{\\text{}}", "0", 0, 0, "empty text"},
    {"\\boxed{\\text{5}}", "5", 1, 0, "number in text"},
    {"\\boxed{3}\n\nWait, actually \\boxed{4}", "4", 1, 0, "reflection then new box"},
    {"\\boxed{3}. Answer: 4", "3", 1, 0, "box beats a later marker"},
    {"<answer>3</answer>\nAnswer: 4", "3", 1, 0, "answer tag beats a later marker"},
};

typedef struct {
    const char *a, *b;
    int want;
    const char *why;
} Pair;

// Answers compared directly after normalisation (both orders are checked).
static const Pair PAIRS[] = {
    {"1/2", "0.5", 1, "slash vs decimal"},
    {"\\frac{1}{2}", ".5", 1, "frac vs bare decimal"},
    {"\\frac12", "\\dfrac{1}{2}", 1, "shorthand vs dfrac"},
    {"0.5", "0.50000", 1, "trailing zeros"},
    {"2", "2.0", 1, "integer vs decimal"},
    {"-2", "-2.00", 1, "negative trailing zeros"},
    {"1/3", "0.333", 0, "third vs rounded"},
    {"2/3", "0.667", 0, "two thirds vs rounded"},
    {"3", "3/1", 1, "over one"},
    {"10", "1e1", 0, "no exponent parsing"},
    {"1,000", "1000", 1, "separator"},
    {"1,000,000.25", "1000000.25", 1, "separator and decimals"},
    {"1,00", "100", 0, "bad group"},
    {"$5", "5", 1, "dollar sign"},
    {"\\$5", "5", 1, "escaped dollar"},
    {"5\\%", "5", 1, "percent"},
    {"5 %", "5", 1, "spaced percent"},
    {"x = 3", "3", 1, "leading variable"},
    {"X=3", "3", 1, "uppercase variable"},
    {"\\alpha = 2", "2", 1, "greek variable"},
    {"3 = x", "3", 0, "variable on the right is kept"},
    {"\\left(3\\right)", "(3)", 1, "left right"},
    {"\\text{(C)}", "(C)", 1, "text wrapper"},
    {"\\textbf{C}", "C", 1, "bold wrapper"},
    {"\\mbox{C}", "C", 1, "mbox wrapper"},
    {"\\mathbf{C}", "C", 1, "mathbf wrapper"},
    {"C", "c", 0, "letter case"},
    {"7 cm", "7", 1, "unit"},
    {"7 cm", "7 \\text{m}", 1, "units are dropped on both sides"},
    {"7", "8 cm", 0, "unit does not rescue a wrong number"},
    {"7\\text{ inches}", "7", 1, "text unit"},
    {"\\frac{3}{4}\\text{ inch}", "0.75", 1, "fraction with text unit"},
    {"-\\frac{3}{4}", "-0.75", 1, "negative frac"},
    {"\\frac{-3}{4}", "-\\frac{3}{4}", 1, "sign placement"},
    {"\\frac{3}{-4}", "\\frac{-3}{4}", 1, "sign in denominator"},
    {"1\\frac{3}{4}", "1.75", 1, "mixed number"},
    {"1\\frac{3}{4}", "\\frac{7}{4}", 1, "mixed vs improper"},
    {"1.5\\frac{1}{2}", "2", 0, "decimal whole part is not a mixed number"},
    {"\\sqrt2", "\\sqrt{2}", 1, "sqrt shorthand"},
    {"\\sqrt 2", "\\sqrt{2}", 1, "spaced sqrt shorthand"},
    {"\\frac{\\sqrt2}{2}", "\\frac{\\sqrt{2}}{2}", 1, "nested shorthand"},
    {"\\frac\\pi3", "\\frac{\\pi}{3}", 1, "shorthand with command argument"},
    {"\\frac{1}{2}\\pi", "\\frac12\\pi", 1, "shorthand followed by symbol"},
    {"\\pi/2", "\\frac{\\pi}{2}", 0, "slash with a symbol is text"},
    {"2\\pi", "2 \\pi", 1, "spacing"},
    {"x^2", "x^{2}", 0, "braced exponent is different text"},
    {"(0,1)", "(0, 1)", 1, "interval spacing"},
    {"(0,1)", "[0,1]", 0, "open vs closed interval"},
    {"\\{2,3\\}", "\\{3,2\\}", 0, "set order is text"},
    {"\\infty", "\\infty", 1, "infinity"},
    {"-\\infty", "- \\infty", 1, "negative infinity spacing"},
    {"\\emptyset", "\\varnothing", 0, "different symbols"},
    {"1/2", "2/4", 1, "unreduced"},
    {"4/8", "\\frac{3}{6}", 1, "two unreduced"},
    {"\xe2""\x88""\x92""7", "-7", 1, "unicode minus"},
    {"45\xc2""\xb0""", "45", 1, "degree sign"},
    {"45^\\circ", "45^{\\circ}", 1, "degree forms"},
    {"90 degrees", "90^\\circ", 1, "degree word and circ"},
    {"12\\,345", "12345", 1, "thin space separator"},
    {"12{,}345", "12,345", 1, "LaTeX and plain separator"},
    {"0", "-0", 1, "signed zero"},
    {"0", "0/5", 1, "zero over five"},
    {"0/0", "0", 0, "zero over zero is not a number"},
    {"", "", 0, "two empty answers never match"},
    {"", "", 0, "two blank answers never match"},
    {"abc", "abc", 1, "identical text"},
};

static double score(const char *completion, size_t n, const char *gold, int prefilled) {
    RewardInput in = {.completion = completion, .completion_len = n, .answer = gold,
                      .completion_tokens = -1, .prefilled_think = prefilled};
    return reward_math(&in, NULL);
}

static void test_table(void) {
    size_t n = sizeof CASES / sizeof CASES[0];
    for (size_t i = 0; i < n; i++) {
        const Case *c = &CASES[i];
        double r = score(c->completion, strlen(c->completion), c->gold, c->prefilled);
        CHECK(r == (double)c->want, "case %zu (%s): completion \"%s\" gold \"%s\" got %g want %d", i,
              c->why, c->completion, c->gold, r, c->want);
    }
    size_t np = sizeof PAIRS / sizeof PAIRS[0];
    for (size_t i = 0; i < np; i++) {
        const Pair *p = &PAIRS[i];
        int ab = math_answer_equal(p->a, strlen(p->a), p->b, strlen(p->b));
        int ba = math_answer_equal(p->b, strlen(p->b), p->a, strlen(p->a));
        CHECK(ab == p->want && ba == p->want, "pair %zu (%s): \"%s\" vs \"%s\" got %d/%d want %d", i,
              p->why, p->a, p->b, ab, ba, p->want);
    }
    printf("%zu completion cases, %zu answer pairs\n", n, np);
    CHECK(n + np >= 300, "at least 300 table cases, have %zu", n + np);
}

// The normalised text itself, for rules the tables cannot see directly.
static void test_normalize(void) {
    static const char *const cases[][2] = {
        {"\\dfrac{1}{2}", "\\frac{1}{2}"},  {"\\frac12", "\\frac{1}{2}"},  {"x = 5", "5"},
        {"\\text{ 5 cm }", "5"},            {"1,234", "1234"},              {"\\left( 1 \\right)", "(1)"},
        {"  \\$\\,3.50. ", "3.50"},         {"\\sqrt2", "\\sqrt{2}"},      {"{{7}}", "7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = math_normalize(cases[i][0], strlen(cases[i][0]));
        CHECK(s && strcmp(s, cases[i][1]) == 0, "normalize(\"%s\") = \"%s\", want \"%s\"", cases[i][0],
              s ? s : "(null)", cases[i][1]);
        free(s);
    }
}

// Fills a malloc'd buffer with `prefix`, then `count` copies of `unit`, then `suffix`.
static char *repeat(const char *prefix, const char *unit, size_t count, const char *suffix, size_t *len) {
    size_t a = strlen(prefix), u = strlen(unit), z = strlen(suffix);
    *len = a + u * count + z;
    char *s = malloc(*len + 1);
    memcpy(s, prefix, a);
    for (size_t i = 0; i < count; i++) memcpy(s + a + i * u, unit, u);
    memcpy(s + a + u * count, suffix, z + 1);
    return s;
}

// Hostile inputs: right reward, no crash, no stack overflow, bounded time.
static void test_hostile(void) {
    size_t n;
    char *s = repeat("\\boxed{", "{", 10000, "5", &n);  // 10 kB of unclosed braces
    CHECK(score(s, n, "5", 0) == 0.0, "unclosed deep braces give 0");
    free(s);
    s = repeat("\\boxed{", "{", 10000, "", &n);
    char *t = repeat(s, "}", 10001, "", &n);  // 10k-deep balanced box
    free(s);
    CHECK(score(t, n, "5", 0) == 0.0, "deep balanced braces are text, not 5");
    free(t);
    s = repeat("", "\\boxed{", 200000, "", &n);  // 1.4 MB of unclosed boxes: linear scan
    CHECK(score(s, n, "5", 0) == 0.0, "many unclosed boxes give 0");
    free(s);
    s = repeat("", "\\boxed{", 100000, "\\boxed{5}", &n);
    CHECK(score(s, n, "5", 0) == 1.0, "closed box after many unclosed ones is found");
    free(s);
    s = repeat("\\boxed{", "\\frac{", 5000, "1", &n);
    CHECK(score(s, n, "1", 0) == 0.0, "nested unclosed fracs");
    free(s);
    s = repeat("\\boxed{", "\\frac1", 20000, "}", &n);  // deep shorthand chain
    CHECK(score(s, n, "1", 0) == 0.0, "long frac shorthand chain is text");
    free(s);
    s = repeat("", "a", 1 << 20, " #### 7", &n);  // megabyte string then marker
    CHECK(score(s, n, "7", 0) == 1.0, "marker after a megabyte");
    free(s);
    s = repeat("\\boxed{", "9", 1 << 20, "}", &n);  // a megabyte-long number
    t = repeat("", "9", 1 << 20, "", &n);
    CHECK(score(s, strlen(s), t, 0) == 1.0, "megabyte integer equals itself as text");
    free(s);
    free(t);
    const char bad[] = "\\boxed{\xff\xfe\xc3(5}";  // invalid UTF-8
    CHECK(score(bad, sizeof bad - 1, "5", 0) == 0.0, "invalid UTF-8 is text");
    const char with_nul[] = "\\boxed{5}\0\\boxed{6}";  // NUL inside: length-delimited
    CHECK(score(with_nul, sizeof with_nul - 1, "6", 0) == 1.0, "bytes after a NUL are read");
    const char *import = "\\boxed{__import__('os').system('rm -rf /')}";
    CHECK(score(import, strlen(import), "0", 0) == 0.0, "code in the box is text");
    CHECK(score(import, strlen(import), "__import__('os').system('rm-rf/')", 0) == 1.0,
          "code in the box compares as normalised text");
    RewardInput in = {.completion = "\\boxed{5}", .completion_len = 9, .answer = NULL};
    CHECK(isnan(reward_math(&in, NULL)), "no gold answer is a configuration error (NaN)");
}

int main(void) {
    test_table();
    test_normalize();
    test_hostile();
    return TEST_END();
}

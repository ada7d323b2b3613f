// The default tokenizer of a new model (aha init without --tokenizer): a
// byte-level BPE trained on a small built-in text, with the chat special
// tokens. A stand-in so a random model can run end to end, not a real tokenizer.
#include "tok/tokenizer.h"

#include "base/err.h"

#include <string.h>

// Built-in text for the default tokenizer: plain English about arithmetic and
// reasoning, the register the RL tasks use. Its only job is to give the merges
// something sensible to learn; a real tokenizer comes in with --tokenizer.
static const char *CORPUS =
    "Let me think about this step by step. First, I add the two numbers together, then I check "
    "the result by subtracting one of them from the sum. If the answer matches, the solution is "
    "correct; otherwise I made a mistake somewhere and must look again.\n"
    "The question asks for the number of apples left after Maria gives three of them to her "
    "brother and eats two more. She started with twelve apples, so twelve minus three minus two "
    "leaves seven. The answer is 7.\n"
    "<think> We need to reach the target using each number exactly once. Try multiplying the two "
    "largest numbers first: that overshoots. Instead, subtract the smallest from the largest and "
    "then multiply by the remaining one. That gives exactly the target. </think> "
    "<answer> (25 - 5) * 4 </answer>\n"
    "Wait, let me verify this calculation. Half of forty is twenty, and twenty plus fifteen is "
    "thirty-five. Therefore the final answer is thirty-five, which we write as \\boxed{35}.\n"
    "A train leaves the station at nine in the morning and travels at sixty kilometres per hour. "
    "How far has it gone by noon? Three hours at sixty kilometres per hour is one hundred and "
    "eighty kilometres.\n"
    "To solve the equation 3x + 4 = 19, subtract four from both sides to get 3x = 15, and divide "
    "both sides by three: x = 5. Checking: three times five is fifteen, plus four is nineteen.\n"
    "The probability of rolling an even number on a fair six-sided die is three out of six, which "
    "simplifies to one half. The expected value of a single roll is three and a half.\n"
    "Alternatively, we could count the possibilities directly. There are four choices for the "
    "first digit and three for the second, so there are twelve different two-digit numbers.\n"
    "Hmm, that does not look right. Let me re-examine the problem statement: the rectangle has a "
    "perimeter of thirty centimetres and a length of nine, so its width is six and its area is "
    "fifty-four square centimetres.\n"
    "def solve(numbers, target):\n    for a in numbers:\n        for b in numbers:\n"
    "            if a + b == target:\n                return (a, b)\n    return None\n"
    "In summary, careful reasoning means writing down what is known, deciding what is asked, "
    "choosing a method, carrying it out, and verifying the answer before stating it clearly.\n";

int tok_train_default(int vocab_size, const char *out_path) {
    static const char *const specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    if (vocab_size < 256 + 3)
        return err_set("vocab_size %d is too small for the byte-level tokenizer (needs at least 259)", vocab_size);
    return tok_train_bpe(CORPUS, strlen(CORPUS), vocab_size, specials, 3, out_path);
}

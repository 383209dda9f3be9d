/* labelloop: the labeling server, the detector and the loop between them, in one program. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}

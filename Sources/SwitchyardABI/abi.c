/* Compiles the ABI header once for the host so its layout proofs run in every build. */
#include "switchyard_abi.h"

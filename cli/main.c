/* SPDX-License-Identifier: MIT */
/* placeholder main replaced by the agent */
int main(void);
int
main(void)
{
	return 0;
}

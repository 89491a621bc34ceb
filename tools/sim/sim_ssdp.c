/* sim_ssdp.c - the simulator's SSDP side (being written). */
typedef int ucp_sim_ssdp_placeholder;

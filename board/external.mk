include $(sort $(wildcard $(BR2_EXTERNAL_CLAMHOOK_PATH)/package/*/*.mk))

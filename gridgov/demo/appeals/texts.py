"""What the demo's residents report, and what the handlers answer: data for ``demo.appeals``.

Demo content, like the generator's names and addresses: stored as entered, never shown
through gettext. Placeholders: ``{place}`` (compound and building), ``{compound}``,
``{building}``, ``{road}``, ``{floor}``; a text with ``{road}`` is placed on a street
inside a grid, any other at a building.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    text: str  # the resident's words
    result: str  # the handler's report (neutral about who did it: it may be escalated)
    # Who handles it: "grid", "community", or department code suffixes ("SW", "CG,ZJ":
    # the first handles when dispatched, all of them are whistled when the community whistles).
    handler: str


@dataclass(frozen=True)
class Playbook:
    weight: int  # how often the category comes up, relative to the others
    problems: tuple[Problem, ...]


P = Problem
PLAYBOOKS: dict[str, Playbook] = {
    "city.sanitation": Playbook(
        12,
        (
            P(
                "{compound}门口的垃圾桶满了好几天没人清运，气味很大，招苍蝇。",
                "已协调环卫人员清运垃圾并消杀，安排保洁每日巡查。",
                "grid",
            ),
            P(
                "{road}路边绿化带里堆了不少建筑垃圾，希望尽快清理。",
                "已清运建筑垃圾，并对附近装修户做了劝导。",
                "grid",
            ),
            P(
                "{place}楼道里堆满杂物和废纸箱，既不卫生又有火灾隐患。",
                "已组织楼长和志愿者清理楼道杂物，张贴了文明提示。",
                "grid",
            ),
            P(
                "{compound}后面的空地上有人倾倒生活垃圾，已经堆成小山了。",
                "已清理垃圾堆并设置围挡和提示牌，纳入网格日常巡查。",
                "grid",
            ),
            P(
                "{road}雨后路面淤泥一直没人清扫，走路容易滑倒。",
                "已安排环卫作业车冲洗路面，清除淤泥。",
                "CG",
            ),
        ),
    ),
    "city.vending": Playbook(
        4,
        (
            P(
                "{road}早市摊贩占用人行道和机动车道，早高峰通行困难。",
                "执法队员已到场劝离占道摊贩，引导进入便民市场经营。",
                "CG",
            ),
            P(
                "{compound}门口有流动摊贩晚上摆摊烧烤，油烟和噪音很大。",
                "已取缔流动烧烤摊，安排夜间巡查防止反弹。",
                "CG",
            ),
            P(
                "{road}一家水果店把货架摆到了盲道上，行人只能走机动车道。",
                "已责令店主将货架移回店内，并签订门前三包责任书。",
                "CG",
            ),
        ),
    ),
    "city.greening": Playbook(
        3,
        (
            P(
                "{place}前面一棵大树的枝杈快碰到三楼窗户了，刮风时很危险，希望修剪。",
                "已联系园林养护单位修剪树枝，消除了安全隐患。",
                "community",
            ),
            P(
                "{road}绿化带里的草很久没修剪，有些灌木已经枯死。",
                "已补种灌木并修剪草坪。",
                "CG",
            ),
            P(
                "{place}楼前的绿地被人开垦种菜，浇粪水味道很重。",
                "上门做通了住户工作，菜地已自行清除并恢复绿化。",
                "grid",
            ),
        ),
    ),
    "city.noise": Playbook(
        7,
        (
            P(
                "{compound}广场舞音响声音太大，每天晚上九点多还在跳，影响老人孩子休息。",
                "已与广场舞队负责人沟通，调低音量，结束时间提前到晚八点半。",
                "grid",
            ),
            P(
                "{compound}旁边的工地夜间施工，凌晨一两点还有机器声。",
                "已责令工地停止夜间施工，确需连续施工的须办理夜间施工许可并公示。",
                "HB",
            ),
            P(
                "{place}{floor}楼住户经常半夜拖动家具，沟通过几次没有改善。",
                "上门协调后，楼上住户表示会注意，并给家具加了脚垫。",
                "grid",
            ),
            P(
                "{road}一家KTV营业到凌晨，唱歌声和喝酒吵闹声很大。",
                "已到场检查，KTV已整改隔音并控制营业时间。",
                "GA,HB",
            ),
        ),
    ),
    "city.waste": Playbook(
        3,
        (
            P(
                "{compound}的垃圾分类亭经常满溢，厨余垃圾和其他垃圾混在一起。",
                "已增加清运频次，督导员恢复定时值守。",
                "grid",
            ),
            P(
                "{compound}的垃圾分类督导员好几天没来了，居民不知道怎么分。",
                "已开展垃圾分类入户宣传，发放了分类指南。",
                "community",
            ),
            P(
                "希望在{compound}设一个装修垃圾和大件垃圾的临时堆放点。",
                "已在小区东侧设置装修垃圾临时堆放点，每周清运两次。",
                "community",
            ),
        ),
    ),
    "facility.utilities": Playbook(
        8,
        (
            P(
                "{place}停水两天了，也没看到停水通知，老人做饭喝水都困难。",
                "排查发现小区主管道阀门故障，已抢修恢复供水，并要求今后提前公告停水。",
                "SW",
            ),
            P(
                "{place}{floor}楼的自来水发黄有异味，烧开后有沉淀。",
                "已冲洗管网并取样检测，水质恢复达标。",
                "SW",
            ),
            P(
                "{place}整栋楼晚上突然停电，到现在还没来电，冰箱里的东西都坏了。",
                "抢修班更换了烧毁的低压电缆接头，已恢复供电。",
                "GD",
            ),
            P(
                "{place}电压不稳，灯一闪一闪的，空调开不起来。",
                "已调整变压器分接头并平衡三相负荷，电压恢复正常。",
                "GD",
            ),
            P(
                "{place}家里天然气没气了，缴过费也不行，做不了饭。",
                "上门检查后更换了故障的燃气表，已恢复供气。",
                "RQ",
            ),
        ),
    ),
    "facility.lift": Playbook(
        4,
        (
            P(
                "{place}电梯停在{floor}楼不动了，按钮没有反应，楼里好几位老人下不了楼。",
                "已督促维保单位更换控制主板，电梯经检验恢复运行。",
                "SJ",
            ),
            P(
                "{place}电梯运行时抖动得厉害，还有异响，大家都不敢坐。",
                "维保单位更换了导靴和曳引钢丝绳，检测合格后恢复使用。",
                "SJ",
            ),
            P(
                "{place}电梯门关不严，夹了小孩的书包，太危险了。",
                "维保单位调整了门机并更换门锁开关，现场复查合格。",
                "SJ",
            ),
            P(
                "{place}电梯检验合格证过期了还在用，物业一直说在办。",
                "已责令物业停用电梯并完成定期检验，张贴了新的检验合格标志。",
                "SJ",
            ),
        ),
    ),
    "facility.road": Playbook(
        5,
        (
            P(
                "{road}人行道上一个井盖丢了，只插了根树枝，晚上很容易掉下去。",
                "已设置围挡，补装了防坠网和新井盖。",
                "CG",
            ),
            P(
                "{road}路面塌陷出一个大坑，电动车经过很危险。",
                "已组织道路养护单位回填修复塌陷路面。",
                "CG",
            ),
            P(
                "{compound}门口的井盖松动，车一过就哐当响，晚上吵得睡不着。",
                "已更换井盖支座并加装橡胶垫圈，异响消除。",
                "CG",
            ),
            P(
                "{road}公交站台旁的路沿石被撞坏，散落在路上。",
                "已清理散落石块并修复路沿石。",
                "JT",
            ),
        ),
    ),
    "facility.light": Playbook(
        5,
        (
            P(
                "{road}有一段路灯坏了七八盏，晚上黑漆漆的，行人不安全。",
                "已更换灯具和线路，这段路灯全部恢复照明。",
                "CG",
            ),
            P(
                "{compound}院内的路灯整夜不亮，老人晚上出门不方便。",
                "已协调物业更换损坏的灯泡和时控开关。",
                "grid",
            ),
            P(
                "{place}楼道的声控灯坏了，上下楼只能摸黑。",
                "已联系楼长更换了楼道声控灯。",
                "grid",
            ),
        ),
    ),
    "facility.sewer": Playbook(
        6,
        (
            P(
                "{place}下水道堵了，污水从一楼地漏往外冒，味道很大。",
                "已疏通主排污管道，清理积水并消毒。",
                "SW",
            ),
            P(
                "{compound}的化粪池满了，污水流到了路面上。",
                "已组织吸污车清掏化粪池，冲洗并消杀了路面。",
                "SW",
            ),
            P(
                "{road}的雨水篦子被垃圾堵死，一下雨就积水到脚脖子。",
                "已清掏雨水口并更换破损的雨水篦子。",
                "CG",
            ),
            P(
                "{place}{floor}楼厨房下水管漏水，渗到了楼下住户家。",
                "已协调物业更换破损的立管接头，渗漏停止。",
                "grid",
            ),
        ),
    ),
    "property.service": Playbook(
        6,
        (
            P(
                "{compound}物业收费不公示，服务也跟不上，大门门禁坏了一个月没修。",
                "约谈物业公司后，门禁已修复，收费标准在公示栏公开。",
                "community",
            ),
            P(
                "{compound}物业撤走后没人管了，垃圾没人收，大门也没人看。",
                "社区党委牵头成立临时管理小组，引入红色物业接管，恢复了保洁和门岗。",
                "community",
            ),
            P(
                "{place}楼顶漏水，找物业好几次都推说要业主自己修。",
                "已督促物业申请使用维修资金，对楼顶做了防水处理。",
                "ZJ",
            ),
            P(
                "{compound}的消防通道被物业划成了收费停车位。",
                "已责令物业撤除车位，恢复了消防通道标线。",
                "community",
            ),
        ),
    ),
    "property.parking": Playbook(
        6,
        (
            P(
                "{compound}门口常年有外来车辆乱停，居民的车开不出去。",
                "已施划停车位，物业在高峰时段安排人员疏导，乱停明显减少。",
                "grid",
            ),
            P(
                "{road}的人行道上堆满了共享单车，轮椅过不去。",
                "已联系运营企业清运车辆，并施划了停放区。",
                "grid",
            ),
            P(
                "希望在{compound}增设电动车充电桩，现在大家只能在楼道里充。",
                "已协调供电公司和物业在小区北侧安装了二十个充电插座。",
                "community",
            ),
        ),
    ),
    "property.fund": Playbook(
        1,
        (
            P(
                "{place}外墙瓷砖脱落，想申请用专项维修资金维修，不知道怎么办。",
                "已指导业主完成维修资金使用表决和申请，外墙修缮完毕。",
                "ZJ",
            ),
            P(
                "{compound}屋面漏水，维修资金申请了两个月还没批下来。",
                "维修资金申请已审核通过，施工单位已完成屋面返修。",
                "ZJ",
            ),
        ),
    ),
    "building.illegal": Playbook(
        3,
        (
            P(
                "{place}一楼住户在院子里私自加盖房屋，挡住了楼上的采光。",
                "现场勘查后下达了限期拆除通知，违建已拆除。",
                "CG,ZJ",
            ),
            P(
                "{place}楼顶有人搭了彩钢房，担心压坏楼板。",
                "已督促当事人自行拆除楼顶彩钢房。",
                "CG",
            ),
            P(
                "{road}一家商户私自扩建门头，占了公共通道。",
                "已责令商户拆除扩建部分，恢复通道。",
                "CG",
            ),
        ),
    ),
    "building.renovation": Playbook(
        2,
        (
            P(
                "{place}{floor}楼住户装修拆了承重墙，楼下墙面出现裂缝。",
                "已责令停工并委托房屋安全鉴定，业主按方案恢复加固。",
                "ZJ",
            ),
            P(
                "{place}有户装修每天早上七点就开始砸墙，周末也不停。",
                "已告知装修队按规定时间施工，物业加强巡查。",
                "grid",
            ),
        ),
    ),
    "safety.fire": Playbook(
        2,
        (
            P(
                "{place}楼道里有人给电动车充电，电线从窗户拉下来，随时可能着火。",
                "已现场清理飞线和楼道电动车，对住户进行了消防安全提醒。",
                "grid",
            ),
            P(
                "{compound}的消防栓没有水，灭火器也过期了。",
                "已督促物业更换过期灭火器并修复消防供水。",
                "community",
            ),
            P(
                "{road}一家餐馆后厨堆放了好几罐液化气，存在安全隐患。",
                "联合检查后已责令餐馆清除违规存放的气瓶。",
                "GA",
            ),
        ),
    ),
    "safety.house": Playbook(
        1,
        (
            P(
                "{place}阳台外墙有一块水泥快掉下来了，下面是小孩玩的地方。",
                "已拉设警戒线，组织人员清除了松动的外墙抹灰。",
                "ZJ",
            ),
            P(
                "{compound}有一间老平房墙体开裂严重，里面还住着一位独居老人。",
                "经鉴定为危房，已帮助老人搬到亲属家暂住并安排修缮。",
                "ZJ",
            ),
        ),
    ),
    "safety.gas": Playbook(
        1,
        (
            P(
                "{place}楼道里闻到很浓的燃气味。",
                "抢修人员到场查出立管接头漏气，已紧急更换。",
                "RQ",
            ),
            P(
                "{place}{floor}楼一户燃气表附近有嘶嘶声，敲门没人在家。",
                "已关闭入户阀门，联系户主后更换了表前阀。",
                "RQ",
            ),
        ),
    ),
    "neighbour.adjacent": Playbook(
        5,
        (
            P(
                "{place}楼上的空调外机滴水，正好滴在我家窗台上，说了也不管。",
                "上门调解后，楼上住户加装了冷凝水管。",
                "grid",
            ),
            P(
                "{place}邻居在楼道里养狗，狗叫扰民还随地大小便。",
                "调解后邻居承诺规范养犬，并清理了楼道。",
                "community",
            ),
            P(
                "{place}楼上卫生间漏水，渗到我家天花板，邻居不愿意修。",
                "经人民调解双方达成协议，楼上住户已重做防水。",
                "community",
            ),
        ),
    ),
    "neighbour.family": Playbook(
        2,
        (
            P(
                "{place}有户夫妻经常吵架，昨晚动静特别大，担心出事。",
                "会同社区民警上门了解情况，进行了调解和心理疏导。",
                "grid",
            ),
            P(
                "住在{compound}的一位老人反映子女不尽赡养义务，生活困难。",
                "组织家庭调解，子女签订了赡养协议，每月按时给付生活费。",
                "community",
            ),
        ),
    ),
    "livelihood.elderly": Playbook(
        3,
        (
            P(
                "{place}有位独居老人腿脚不便，希望能有人定期上门看看、帮忙买菜。",
                "已将老人纳入关爱名单，安排志愿者每周上门两次。",
                "community",
            ),
            P(
                "想给家里的残疾人申请轮椅和护理补贴，需要准备什么材料？",
                "已指导家属准备材料并代办申请，补贴已获批。",
                "community",
            ),
            P(
                "{compound}附近的老年助餐点什么时候开？老人吃饭不方便。",
                "助餐点已开放，已为有需要的老人办理助餐卡。",
                "MZ",
            ),
        ),
    ),
    "livelihood.social": Playbook(
        2,
        (
            P(
                "失业半年了，想参加社区的技能培训，怎么报名？",
                "已登记就业需求，推荐参加区里组织的家政和电工培训。",
                "community",
            ),
            P(
                "家里老人不会用手机缴城乡居民医保，线下在哪里缴？",
                "已上门帮助老人完成缴费，并告知了线下缴费网点。",
                "grid",
            ),
        ),
    ),
    "livelihood.health": Playbook(
        2,
        (
            P(
                "{compound}附近一家药店在卖过期药品。",
                "已检查涉事药店，下架过期药品并立案处理。",
                "SJ",
            ),
            P(
                "希望能安排家庭医生上门给{place}一位卧床老人看病。",
                "已协调社区卫生服务中心为老人签约家庭医生，每月上门随访。",
                "WJ",
            ),
        ),
    ),
    "livelihood.school": Playbook(
        2,
        (
            P(
                "孩子明年上小学，我们是租房户，想了解入学政策。",
                "已答复租房户入学所需材料和报名时间。",
                "JY",
            ),
            P(
                "{road}小学门口上下学时段车辆乱停，孩子过马路很危险。",
                "已会同交警和学校在上下学时段设置护学岗。",
                "JY,GA",
            ),
        ),
    ),
    "policy.consult": Playbook(
        3,
        (
            P(
                "{compound}有没有列入老旧小区改造计划？",
                "已答复：该小区已列入明年改造计划，方案将在小区公示栏公示。",
                "community",
            ),
            P(
                "八十岁以上老人的高龄津贴怎么申请？",
                "已告知申请条件和所需材料，可在社区党群服务中心办理。",
                "community",
            ),
            P(
                "想了解公租房的申请条件和流程。",
                "已答复公租房申请条件和流程，并发放了申请表。",
                "community",
            ),
        ),
    ),
    "other.other": Playbook(
        2,
        (
            P(
                "{compound}门口的公交站牌被撞歪了。",
                "已联系公交公司修复站牌。",
                "JT",
            ),
            P(
                "{road}有一只流浪狗经常追咬行人，孩子都不敢出门。",
                "已联系动物收容机构将流浪犬收容。",
                "grid",
            ),
            P(
                "希望{compound}能办一些教老年人用智能手机的培训。",
                "已组织志愿者开展了三期智能手机使用培训。",
                "community",
            ),
        ),
    ),
}
del P


@dataclass(frozen=True)
class Cluster:
    """One problem reported again and again within two days (scenario A4), merged into the
    first report."""

    category: str
    reports: tuple[str, ...]
    result: str
    handler: str
    note: str


MERGE_NOTE = "同一问题的重复反映，合并办理，办结后一并告知各反映人。"
# A4: many residents of one building report the same broken lift.
LIFT = Cluster(
    "facility.lift",
    (
        "{place}电梯坏了，停在{floor}楼不动。",
        "{place}的电梯又不能用了，家里老人下不了楼，请尽快修。",
        "{place}电梯故障，按了没有反应。",
        "我是{place}的住户，电梯从前天就坏了，物业说在等配件。",
        "{place}电梯停运，轮椅没法上下楼。",
        "反映{place}电梯故障，已经两天了还没修好。",
        "{place}电梯门打不开，停在{floor}楼。",
        "{place}的电梯一直停着，上班的人都得爬楼。",
    ),
    "已督促维保单位更换曳引机制动器和控制主板，电梯经检验合格恢复运行。",
    "SJ",
    "同一部电梯故障的重复反映，合并办理，办结后一并告知各反映人。",
)
# Smaller ones on the street: a missing manhole cover, a dark stretch of road.
STREET_CLUSTERS = (
    Cluster(
        "facility.road",
        (
            "{road}人行道上的井盖不见了，很危险。",
            "{road}有个井口没有盖子，晚上看不见。",
            "{road}井盖丢失，已经有人差点踩空。",
        ),
        "已设置围挡，补装了防坠网和新井盖。",
        "CG",
        MERGE_NOTE,
    ),
    Cluster(
        "facility.light",
        (
            "{road}路灯全灭了，晚上一片漆黑。",
            "{road}一整段路灯都不亮。",
            "{road}路灯坏了好几天了，走夜路害怕。",
        ),
        "已更换灯具和线路，这段路灯全部恢复照明。",
        "CG",
        MERGE_NOTE,
    ),
)

ROADS = (
    "汴京路",
    "苹果园路",
    "陇海二路",
    "复兴大道",
    "东环路",
    "繁塔西路",
    "三里堡街",
    "新门关街",
    "官坊街",
    "宋城路",
    "五一路",
    "工农路",
    "禹王台路",
    "南郊大道",
)

REGISTER_NOTES = ("", "", "", "信息完整，予以立案。", "已核实现场情况，立案办理。")
COMPLEX_NOTE = "涉及多个单位协调，调整为复杂件。"
WHISTLE_NOTES = (
    "社区无执法权，吹哨请相关部门到场处置。",
    "问题涉及部门职责，请相关部门报到处置。",
    "已多次劝导无效，吹哨请部门联合处置。",
)
ESCALATE_REASONS = ("网格内协调不下来，需要社区出面协调。", "涉及物业和多户居民，上报社区处理。")
STREET_REASONS = ("涉及多个部门，社区协调不动，上报街道。",)
# Where a case goes first by mistake (then returned, 退单): the departments whose duties
# border on the right one's (scenario A2: a sewer sent to the water bureau, then housing).
MISDIRECTED = {
    "SW": ("ZJ", "CG", "GD"),
    "GD": ("SW", "RQ"),
    "RQ": ("GD", "SW"),
    "CG": ("ZJ", "JT", "SW"),
    "ZJ": ("CG", "SW"),
    "JT": ("CG",),
    "SJ": ("ZJ", "CG"),
    "GA": ("CG", "HB"),
    "HB": ("CG", "GA"),
    "MZ": ("WJ",),
    "WJ": ("MZ", "SJ"),
    "JY": ("MZ", "GA"),
}
RETURN_REASONS = (
    "经核实，该问题不属于本单位职责范围，建议转{right}办理。",
    "现场核查该处设施不归本单位管理，请改派{right}。",
    "该诉求属于{right}职责，本单位无法处置，申请退回。",
)
REDISPATCH_NOTES = ("已改派{right}办理。", "退单理由属实，改派{right}。")
EXTENSION_REASONS = (
    "需要协调多个产权单位，申请延期。",
    "配件需要从厂家订购，到货后才能维修。",
    "需要召开居民议事会征求意见后再施工。",
    "施工需办理占道审批手续。",
)
EXTENSION_REFUSED = "理由不充分，请按原时限办结。"
SUPERVISE_NOTES = (
    "已超过办理时限，请抓紧办理并报告进度。",
    "居民多次来电催办，请于今日内答复。",
    "请承办单位说明超期原因，尽快办结。",
)
SATISFIED_COMMENTS = (
    "",
    "",
    "处理很及时，满意。",
    "工作人员态度很好，问题解决了。",
    "感谢网格员。",
)
BASIC_COMMENTS = ("基本解决了，希望以后多巡查。", "解决了，就是时间有点长。", "还行，希望保持。")
UNSATISFIED_COMMENTS = (
    "问题还是没有解决。",
    "只是临时处理了一下，过两天又坏了。",
    "一直没人联系我。",
)
CLOSE_NOTES = ("", "", "已电话回访，予以结案。", "居民认可办理结果，结案。")
CLOSE_UNRESOLVED_NOTE = "诉求超出政策范围，已向居民解释清楚，予以结案。"
REOPEN_REASONS = ("回访时居民反映问题仍未解决，返工。", "居民不满意，要求重新处理。")
REWORK_RESULTS = (
    "再次上门复核整改，问题已彻底解决。",
    "更换了新的配件并跟踪观察三天，运行正常。",
    "协调责任单位重新施工，居民确认已解决。",
)
REJECT_REASONS = (
    "经核实，反映地点不在本区管辖范围，已告知向属地反映。",
    "反映人提供的信息不全，多次联系未果，无法核实。",
    "该事项已进入诉讼程序，请通过司法途径解决。",
    "咨询事项已当场答复，无需立案办理。",
)
WITHDRAW_REASONS = (
    "问题已经自行解决了。",
    "已经和邻居协商好了，申请撤回。",
    "物业已经上门处理好了。",
    "地址填错了，重新提交。",
)
